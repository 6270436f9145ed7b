"""GPU kernel tasks: spec, inputs, sandboxed correctness checks and roofline timing."""
