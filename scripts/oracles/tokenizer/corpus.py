"""The tokenizer test corpus: text cases that exercise every stage of encoding.

Each case is (name, text). Names are stable: the C++ tests report failures by name. The corpus is
written to tests/data/tokenizer/corpus.jsonl by make_expected.py; the expected ids per tokenizer
variant refer to cases by name.
"""

import random

PROSE = (
    "The quick brown fox jumps over the lazy dog. It wasn't the first time; the dog, frankly, "
    "didn't care. \"Why,\" asked the fox, \"do you never move?\" The dog yawned.\n\n"
    "In 1869, the transcontinental railroad was completed -- a feat that cut travel time from "
    "months to days. Historians (e.g., Smith & Jones, 2003) call it 'the great connector'."
)

PYTHON_CODE = (
    "def fib(n: int) -> int:\n"
    "\t\"\"\"Return the n-th Fibonacci number.\"\"\"\n"
    "\tif n < 2:\n"
    "\t\treturn n\n"
    "\ta, b = 0, 1\n"
    "\tfor _ in range(n - 1):\n"
    "\t\ta, b = b, a + b\n"
    "\treturn b\n"
    "\n"
    "if __name__ == \"__main__\":\n"
    "    print(fib(10))  # 55\n"
    "        # deeper indentation with spaces\n"
)

CPP_CODE = (
    "#include <vector>\n"
    "template <typename T>\n"
    "struct Span { T* data_; size_t size_; };\n"
    "int main(int argc, char** argv) {\n"
    "  std::vector<int> v{1, 2, 3};\n"
    "  for (auto& x : v) x <<= 2;  // shift\n"
    "  return v.empty() ? -1 : v[0] != 4;\n"
    "}\n"
)

JSON_TEXT = '{"name": "tandem", "version": [0, 1, 0], "ok": true, "ratio": 0.75, "tags": null}'

MARKDOWN = (
    "# Title\n\n## Sub-title\n\n- item one\n- item **two**\n  - nested `code`\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n> quote\n\n[link](https://example.com/path?q=1&r=2#frag)\n"
)

MULTILINGUAL = {
    "chinese": "我爱自然语言处理。今天天气很好，我们去公园散步吧！",
    "japanese": "日本語のテキスト：ひらがな、カタカナ、漢字が混ざっています。東京は大きい。",
    "korean": "안녕하세요. 한국어 문장을 토큰화합니다. 감사합니다!",
    "arabic": "مرحبا بالعالم. هذه جملة باللغة العربية، مع أرقام ١٢٣ و 456.",
    "hebrew": "שלום עולם! זו בדיקה של טקסט בעברית.",
    "cyrillic": "Съешь же ещё этих мягких французских булок, да выпей чаю. Ёжик в тумане.",
    "greek": "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Αλφα, Βήτα, γάμμα.",
    "hindi": "हिन्दी एक भारतीय भाषा है। नमस्ते दुनिया!",
    "thai": "ภาษาไทยไม่มีช่องว่างระหว่างคำ สวัสดีครับ",
    "accented_latin": "Zoë's café served crème brûlée; the naïve façade of Ångström's Übermensch. "
    "Việt Nam, Łódź, Ørsted, São Paulo, Ñandú.",
    "combining_marks": "e\u0301 a\u0300 o\u0308 n\u0303 — decomposed accents: Cafe\u0301 vs Café",
    "mixed_scripts": "Hello世界Привет🌍مرحباשלום123abc",
}

EMOJI = {
    "emoji_basic": "I love pizza 🍕 and tacos 🌮! 😀😃😄 Great job 👍",
    "emoji_zwj_family": "Family: 👨\u200d👩\u200d👧\u200d👦 and 👩\u200d❤\ufe0f\u200d👨 together",
    "emoji_flags_skin": "Flags 🇯🇵🇺🇸🏳\ufe0f\u200d🌈 skin tones 👍🏽👋🏿 keycap 1\ufe0f\u20e3 #\ufe0f\u20e3",
    "emoji_only": "🤖🦄🧠🫠🪐",
}

CHAT = {
    "chat_markers": "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi there!<|im_end|>\n"
    "<|im_start|>assistant\n",
    "chat_markers_glued": "abc<|im_end|>def<|im_start|><|im_end|>xyz",
    "chat_markers_spaced": " <|im_start|> user <|im_end|> ",
    "chat_partial_markers": "<|im_start <|im_end|x <|im_start|| <|endoftext| |im_end|>",
    "endoftext": "first document<|endoftext|>second document",
    "other_specials": "<repo_name>tandem<file_sep><filename>main.cc<gh_stars>100",
    "marker_in_word": "word<|endoftext|>word",
}

WHITESPACE = {
    "empty": "",
    "single_space": " ",
    "single_char": "a",
    "spaces_between": "a  b   c    d     e",
    "leading_spaces": "    leading",
    "trailing_spaces": "trailing    ",
    "only_newlines": "\n\n\n",
    "crlf": "line one\r\nline two\r\n\r\nline four",
    "tabs": "\tone\t\ttwo\t\t\tthree",
    "mixed_ws": " \n \n\t \n  x  \n\n  ",
    "space_before_newline": "end of line   \nnext",
    "unicode_spaces": "nbsp\u00a0here, ideographic\u3000space, thin\u2009space, zwsp\u200bhere, nel\u0085x, ls\u2028y",
    "long_spaces": " " * 300 + "x",
    "long_newlines": "\n" * 64 + "y",
}

NUMBERS = {
    "digits": "0123456789",
    "numbers_mixed": "In 2024, 1,234,567 people paid $3.50 (or 3,50 EUR) at 12:45pm on 2024-01-15.",
    "math": "x = 10 + 20 * 3 - 4 / 2; y = 1e-9; z = 0xFF; pi ≈ 3.14159265358979",
    "phone": "+1 (555) 123-4567, ext. 089",
    "long_digits": "9" * 500,
    "digits_in_words": "abc123def 45ghi 6 j7 8k",
    "unicode_digits": "Arabic-Indic ٠١٢٣٤٥ Devanagari ०१२३ fullwidth １２３ roman Ⅻ superscript ²³",
}

MISC = {
    "contractions": "I'm sure you're right, he'll go, they'd agree, it's fine, we've won. DON'T SHOUT, I'M HERE. "
    "You'Re Mixed'S",
    "apostrophes": "rock 'n' roll, '90s, 'quoted', ''double'', don’t (curly)",
    "punctuation": "Wait... what?! (yes) [no] {maybe} <tag/> @user #hash $100 %50 ^caret &amp *star ~tilde `tick` | \\ /",
    "symbols": "∑∫√∞≠≤≥ ±×÷ → ← ↔ ✓ ✗ ★ ☆ © ® ™ € £ ¥ ₹ § ¶ † ‡ • … ‰ ′ ″",
    "box_drawing": "┌──┬──┐\n│a │b │\n└──┴──┘",
    "url_email": "Visit https://www.example.org/a/b?c=d&e=f or mail first.last+tag@sub.example.co.uk.",
    "control_chars": "bell\x07 null\x00 esc\x1b[31m del\x7f unit\x1f end",
    "long_word": "Pneumonoultramicroscopicsilicovolcanoconiosis" * 40,
    "long_single_char": "a" * 2000,
    "long_cjk_run": "漢字" * 300,
    "base64_blob": "U29tZSByYW5kb20gYmFzZTY0IGJsb2IgdGhhdCBpcyBmYWlybHkgbG9uZw==" * 10,
    "repeated_punct": "!!!???...,,,;;;---___===+++***###",
    "html": "<div class=\"x\"><p>Hello &nbsp; <b>world</b></p></div>",
    "private_use_and_astral": "\ue000\uf8ff \U0001d400\U0001d401 \U00020000\U0002a6d6 \U000e0041",
    "replacement_char": "bad \ufffd char",
    "bom": "\ufeffstarts with BOM",
}


# Added tokens with flags exist only in some variants (smollm2_flags: <mask> lstrip, [RS] rstrip,
# "lonely" single_word, <both> lstrip+rstrip, "new token" normalized, "<|im_start|>x" longest match;
# spm: <tool> user-defined); elsewhere these are plain text.
ADDED_FLAGS = {
    "flags_lstrip": "Fill the   <mask> here, and<mask>there, \u3000\t<mask> too",
    "flags_rstrip": "[RS]   after and [RS]\n\nnext[RS]",
    "flags_single_word": "lonely, unlonely lonelyhearts _lonely lonely 9lonely lonely\u0301 (lonely)",
    "flags_both": "a  <both>  b<both>c <both>",
    "flags_normalized": "a new token and new  token, renew tokens",
    "flags_longest_match": "<|im_start|>xyz <|im_start|>user <|im_start|>",
    "flags_adjacent": "<mask><mask> [RS][RS] <both><both>",
    "spm_user_defined": "call <tool> now<tool>x <tool>",
}


def _random_unicode(rng: random.Random, n: int) -> str:
    # Code point ranges weighted toward what the tokenizers treat differently: ASCII letters,
    # digits, punctuation, whitespace, Latin-1, CJK, emoji, combining marks, astral letters.
    ranges = [
        (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E), (0x09, 0x0D), (0xA0, 0xFF), (0x300, 0x36F),
        (0x400, 0x4FF), (0x600, 0x6FF), (0x900, 0x97F), (0x3040, 0x30FF), (0x4E00, 0x9FFF),
        (0xAC00, 0xD7A3), (0x1F300, 0x1FAFF), (0x2000, 0x206F), (0x10000, 0x1034F),
    ]
    out = []
    for _ in range(n):
        lo, hi = rng.choice(ranges)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def cases():
    out = [("prose", PROSE), ("python_code", PYTHON_CODE), ("cpp_code", CPP_CODE), ("json", JSON_TEXT),
           ("markdown", MARKDOWN)]
    for group in (MULTILINGUAL, EMOJI, CHAT, WHITESPACE, NUMBERS, MISC, ADDED_FLAGS):
        out.extend(group.items())
    rng = random.Random(20240601)
    for i in range(24):
        out.append((f"random_unicode_{i:02d}", _random_unicode(rng, rng.randint(1, 80))))
    # Random mixes of ASCII words, spaces and specials: the added-token splitter's edge cases.
    pieces = ["hello", " ", "  ", "\n", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "world", "42", "é",
              "🙂", "\t", "'s", "<", "|", ">"]
    for i in range(16):
        out.append((f"random_mix_{i:02d}", "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))))
    names = [n for n, _ in out]
    assert len(names) == len(set(names)), "duplicate case names"
    return out
