"""Reference solutions and fp32 PyTorch references of the GPU kernel tasks."""
