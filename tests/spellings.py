"""Realistic spellings of right answers, by class: what students type for the bank's derive items
at their default parameters. Every one must be read and graded correct (tests/test_spellings.py)."""

from __future__ import annotations

# class -> (item id, what a student types), each right at the item's defaults
SPELLINGS: dict[str, list[tuple[str, str]]] = {
    "already read": [
        ("1.1", "34360"), ("1.1", "34,360"), ("1.1", "3.436e4"), ("1.1", "34.36 GFLOPs"),
        ("1.1", "3.436 x 10^10 FLOPs"), ("1.3", "112 GB"), ("1.6", "60B"), ("1.6", "60 billion"),
        ("6.1", "3.15"), ("6.1", "3.15e23 FLOPs"), ("9.3", "$256"), ("5.3", "27.3%"),
        ("9.6", "335M params"), ("4.5", "16 KiB"), ("2.1", "2^13"), ("5.3", "3/11"),
    ],
    "approximation sign": [
        ("1.1", "≈ 34360"), ("1.1", "~34,360"), ("1.1", "≈34.36 GFLOPs"), ("1.3", "~ 112 GB"),
        ("1.3", "about 112 GB"), ("1.6", "≈60B"), ("1.6", "approx. 60 billion"), ("4.1", "≈ 295"),
        ("5.1", "approximately 38.5 GB"), ("6.1", "≈ 3.15"), ("9.2", "roughly 15.8 hours"),
        ("9.3", "≈ $256"), ("9.3", "~$256"), ("9.5", "∼171,000 tokens/s"), ("5.3", "≃ 0.273"),
        ("8.5", "~0"), ("2.3", "≈57.3°"), ("9.6", "around 335M params"), ("7.3", "approx 7 GB"),
    ],
    "superscript exponent": [
        ("1.1", "3.44·10¹⁰ FLOPs"), ("1.1", "3.436 × 10⁴"), ("1.1", "2³⁵ FLOPs"),
        ("1.3", "1.12·10¹¹ bytes"), ("1.4", "2.01 × 10⁸ B"), ("0.3", "10¹¹ tokens"),
        ("1.6", "6·10¹⁰ tokens"), ("3.1", "5·10⁹ parameters"), ("3.2", "2.68·10⁸ FLOPs/token"),
        ("6.1", "3.15·10²³ FLOPs"), ("6.1", "3.15 × 10²³ FLOP"), ("8.5", "6.46·10⁻⁹"),
        ("8.5", "6.46 × 10⁻⁹"), ("9.1", "4.45·10¹⁴ FLOP/s"), ("9.2", "5.7·10⁴ s"),
        ("9.5", "1.71·10⁵ tokens/s"), ("9.6", "3.35·10⁸ params"), ("0.1", "2¹⁵ − 512"),
        ("2.1", "2¹³"), ("4.5", "2¹⁴ bytes"), ("9.3", "2.56·10² USD"),
    ],
    "multiplication sign": [
        ("1.1", "2·1024·4096·4096 FLOPs"), ("1.1", "2×1024×4096×4096 / 10^6"),
        ("1.1", "3.436x10^10 FLOPs"), ("1.1", "3.436 X 10^10 FLOPs"), ("1.1", "3.436 ⋅ 10^10 FLOPs"),
        ("1.3", "7e9 × 16 bytes"), ("1.3", "7·16 GB"), ("6.1", "6 × 175e9 × 300e9 FLOPs"),
        ("6.1", "3.15∙10^23 FLOPs"), ("1.6", "20 x 3 billion"),
    ],
    "unit word": [
        ("1.1", "34.36 gigaflops"), ("1.1", "34360 megaflops"), ("1.1", "34.36 gigaFLOPs"),
        ("1.1", "34.36 billion FLOPs"), ("1.1", "34.36 bn FLOPs"), ("1.3", "112 gigabytes"),
        ("1.3", "112 Gigabytes"), ("1.3", "112,000 megabytes"), ("1.3", "0.112 terabytes"),
        ("1.3", "112 billion bytes"), ("1.3", "112 GBs"), ("1.3", "112 Gbytes"), ("1.4", "201 megabytes"),
        ("1.4", "192 mebibytes"), ("4.5", "16 kibibytes"), ("4.5", "16.384 kilobytes"),
        ("0.3", "100 bn"), ("0.3", "100bn tokens"), ("0.3", "0.1 trillion tokens"), ("0.3", "100 Bn"),
        ("1.6", "0.06 tn tokens"), ("1.6", "60 billions"), ("3.1", "5 bn params"),
        ("6.1", "315 zettaFLOPs"), ("6.1", "315 ZFLOPs"), ("6.1", "0.315 yottaFLOPs"),
        ("9.1", "445 teraflops"), ("9.1", "445 teraFLOP/s"), ("9.1", "0.445 petaflops"),
        ("9.1", "445 TFLOP per second"), ("9.2", "15.8 hrs"), ("9.2", "949 minutes"),
        ("9.3", "256 dollars"), ("9.6", "335 mn"), ("9.6", "335 mln"), ("9.6", "335 million"),
        ("9.6", "0.335 billion"), ("7.3", "7,000 megabytes"), ("2.3", "1 radian"),
        ("2.3", "57.3 degrees"), ("5.3", "27.3 percent"), ("0.2", "4 characters per token"),
    ],
    "combination": [
        ("1.1", "≈ 3.44·10¹⁰ FLOPs"), ("1.1", "~34.4 gigaflops"), ("1.1", "about 3.436 × 10⁴ megaflops"),
        ("1.3", "≈1.12 × 10¹¹ bytes"), ("1.3", "~112 gigabytes"), ("1.6", "≈ 6 × 10¹⁰ tokens"),
        ("1.6", "~60bn tokens"), ("6.1", "≈ 3.15 × 10²³ FLOPs"), ("6.1", "~315 zettaflops"),
        ("9.1", "≈445 teraflops"), ("9.2", "~5.7·10⁴ seconds"), ("9.5", "≈ 1.71·10⁵ tokens per second"),
        ("9.6", "~335 mln parameters"), ("8.5", "≈ 6.5 × 10⁻⁹"), ("4.5", "≈ 2¹⁴ bytes"),
        ("1.4", "~192 mebibytes"),
    ],
}
