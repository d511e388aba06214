"""Seeded typing noise for training-data augmentation: how customers mistype on a phone, in Chinese and English.

Pure Python (no Rasa), so the augmenting component and the experiments use the same generator. Every variant
is a function of (text, seed) only: the same training data always gives the same augmented data.

Chinese customers type with a pinyin IME, so their typos are homophones (快递 → 快地, 在哪 → 再哪, 投诉 → 头诉),
not misspellings; they also drop punctuation and spaces and run sentences together. English customers
drop, double, swap and fat-finger letters, glue words together and write in lower case.
"""

from __future__ import annotations

import random
import re

# Homophones (same or near pinyin) a pinyin IME offers for characters common in our customers' messages.
HOMOPHONES: dict[str, str] = {
    "快": "块筷", "递": "地第", "哪": "那拿", "在": "再", "包": "保宝", "裹": "过果", "投": "头偷", "诉": "速素",
    "的": "得地", "改": "该", "址": "只指", "件": "见间", "寄": "记几", "收": "手守", "错": "措", "号": "好",
    "单": "但担", "到": "道倒", "送": "宋", "费": "飞非", "货": "或", "员": "园原", "态": "太", "度": "都渡",
    "查": "茶察", "询": "寻", "丢": "丟", "坏": "怀", "破": "婆", "退": "推", "款": "宽", "钱": "前", "取": "去娶",
    "时": "十实", "间": "见", "天": "添", "几": "机", "么": "么嘛", "吗": "嘛马", "呢": "尼", "人": "仁", "工": "公功",
    "服": "福", "务": "物", "客": "可", "保": "宝报", "价": "假", "险": "显", "区": "去", "域": "玉", "营": "赢",
    "业": "也", "物": "务", "流": "留", "派": "排", "签": "前", "慢": "曼", "久": "酒", "还": "换", "没": "美",
}  # fmt: skip
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Neighbouring keys on a QWERTY keyboard, for fat-finger substitutions.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    c: "".join(row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)) for row in _ROWS for i, c in enumerate(row)
}
_PUNCTUATION = re.compile(r"[，。！？、,.!?;；:：\s]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z]{4,}")


def _zh_noise(text: str, rng: random.Random) -> str:
    """Swap one or two characters for homophones, sometimes also drop punctuation and spaces."""
    positions = [i for i, c in enumerate(text) if c in HOMOPHONES]
    chars = list(text)
    for i in rng.sample(positions, min(len(positions), rng.choice((1, 1, 2)))):
        chars[i] = rng.choice(HOMOPHONES[chars[i]])
    noisy = "".join(chars)
    if rng.random() < 0.5:
        noisy = _PUNCTUATION.sub(rng.choice(("", " ")), noisy).strip()
    return noisy


def _typo(word: str, rng: random.Random) -> str:
    """One keyboard slip in a word: a letter dropped, doubled, swapped with the next, or a neighbour key."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    neighbours = _NEIGHBOURS.get(word[i].lower(), _LETTERS)
    return word[:i] + rng.choice(neighbours) + word[i + 1 :]


def _en_noise(text: str, rng: random.Random) -> str:
    """Lower case, one or two misspelt words, sometimes two words glued together or punctuation dropped."""
    noisy = text.lower() if rng.random() < 0.7 else text
    words = list(_WORD.finditer(noisy))
    for match in rng.sample(words, min(len(words), rng.choice((1, 1, 2)))):
        start, end = match.span()
        noisy = noisy[:start] + _typo(noisy[start:end], rng) + noisy[end:]
    if rng.random() < 0.3:
        spaces = [m.start() for m in re.finditer(" ", noisy)]
        if spaces:
            cut = rng.choice(spaces)
            noisy = noisy[:cut] + noisy[cut + 1 :]
    if rng.random() < 0.4:
        noisy = re.sub(r"[,.!?;:']", "", noisy)
    return noisy


def noisy_variant(text: str, seed: int) -> str:
    """A mistyped variant of text (Chinese noise when it has Chinese characters, English noise otherwise)."""
    rng = random.Random(f"{seed}:{text}")
    return _zh_noise(text, rng) if _CJK.search(text) else _en_noise(text, rng)
