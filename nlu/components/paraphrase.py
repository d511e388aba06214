"""Seeded paraphrases for training-data augmentation: how customers loosely word a request, in Chinese and English.

Pure Python (no Rasa), like nlu/components/noise.py, so the augmenting component and the experiments share it.
Every variant is a function of (text, intent, seed) only: the same training data always gives the same copies.

The training data is written as short, direct requests ("我的快递到哪了", "where is my parcel"). Real customers
wrap the same request in greetings and politeness ("你好 请问一下", "亲", "hi there, quick question"), tell a
sentence or two of their story first and ask at the end, run sentences together without punctuation, ask
indirectly ("我想问一下…", "can you tell me …") and use other words for the same thing (快递/包裹/件/货/单子,
到哪了/在哪/到哪儿了, parcel/package/shipment, courier/driver/delivery guy). A paraphrase applies a few of these
at random: domain synonym swaps, then one frame (prefix, suffix, indirect lead-in or story wrapper), then
sometimes drops the punctuation. The frames carry no intent of their own, so they are also applied to the
off-topic examples: a greeting in front of a bank question does not make it ours.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORDS = re.compile(r"[A-Za-z\u4e00-\u9fff]")
_PUNCTUATION_ZH = re.compile(r"[，。！？、,.!?;；:：~～\s]+")
_TRAILING = re.compile(r"[\s，。！？、,.!?;；:：~～]+$")

# Short social turns: a greeting or a "thanks" frame would change what they mean ("你好 谢谢"), so they are never
# paraphrased.
SOCIAL_INTENTS = frozenset(
    {"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "cancel", "correct", "go_back"}
)
_TRACKING = frozenset({"track_shipment", "list_shipments", "complain_delay"})
_HUMAN = frozenset({"request_human"})


@dataclass(frozen=True)
class Swap:
    """Interchangeable wordings: any match of `pattern` may become one of `choices` (only in `intents` if set)."""

    pattern: re.Pattern[str]
    choices: tuple[str, ...]
    intents: frozenset[str] | None = None


def _swap(pattern: str, choices: str, intents: frozenset[str] | None = None, flags: int = 0) -> Swap:
    """A Swap from a regex and a '|'-separated list of replacements."""
    return Swap(re.compile(pattern, flags), tuple(choices.split("|")), intents)


# Chinese: the words customers use for the same thing. Lookaheads keep compounds whole (快递员 is a person,
# 快递费 a fee, 快递公司 a company: only the parcel itself is swapped).
ZH_SWAPS: tuple[Swap, ...] = (
    _swap(r"(?<!其他)(?<!别的)快递(?![员费柜点站公单小哥服业网])|包裹|快件", "快递|包裹|快件|件|货|东西|单子"),
    _swap(
        r"到哪里了|到哪儿了|到哪了|现在在哪里|现在在哪", "到哪了|到哪里了|到哪儿了|在哪|现在在哪|到哪一步了", _TRACKING
    ),
    _swap(r"什么时候|啥时候", "什么时候|啥时候|几时|哪天"),
    _swap(r"怎么(?!样)", "怎么|咋|怎样"),
    _swap(r"多少钱", "多少钱|多少钱啊|啥价|几块钱|要多少钱|收多少"),
    _swap(r"我想要|我想|我要", "我想|我要|想|我想要|我得"),
    _swap(r"查一下|查下|查查|看一下|看下", "查一下|查下|查查|看看|帮忙看下|瞅瞅"),
    _swap(r"请问|问一下|问下", "请问|问下|想问问|麻烦问下|咨询一下"),
    _swap(r"能不能|可不可以|能否", "能不能|可不可以|能否|可以|能"),
    _swap(r"快递员|快递小哥|派件员|送货员|配送员", "快递员|快递小哥|送快递的|派件员|小哥|配送员"),
    _swap(r"人工客服|真人客服", "人工客服|真人客服|人工|真人", _HUMAN),
    _swap(r"(?<![收寄发])地址", "地址|收货地址|收件地址"),
    _swap(r"寄快递|寄件|寄东西|发快递", "寄快递|寄件|寄东西|发个快递|寄个包裹|发件"),
    _swap(r"上门取件|上门收件|上门揽收", "上门取件|上门收件|上门揽收|上门来拿"),
)

# English: synonyms and the near-synonymous phrasings of a request.
EN_SWAPS: tuple[Swap, ...] = (
    _swap(r"\b(?:package|parcel|shipment)\b", "package|parcel|shipment|order|item|box", flags=re.I),
    _swap(
        r"\bwhere(?: is|'s| s)\b",
        "where is|where's|wheres|what's the status of|any update on|any news on",
        _TRACKING,
        re.I,
    ),
    _swap(
        r"\bhow long does it take\b", "how long does it take|how long it takes|how many days does it take", flags=re.I
    ),
    _swap(
        r"\b(?:i want to|i'd like to|i would like to|i need to)\b",
        "I want to|I'd like to|I would like to|I need to|i wanna|I wish to",
        flags=re.I,
    ),
    _swap(r"\b(?:can you|could you)\b", "can you|could you|can u|would you", flags=re.I),
    _swap(
        r"\b(?:courier|driver|delivery guy|delivery man)\b",
        "courier|driver|delivery guy|delivery person|deliveryman",
        flags=re.I,
    ),
    _swap(
        r"\b(?:a human|a real person|a person|an agent|customer service|customer support)\b",
        "a human|a real person|a person|an agent|a live agent|customer service|customer support",
        _HUMAN,
        re.I,
    ),
    _swap(
        r"\b(?:file|make|lodge|raise|submit) a complaint\b",
        "file a complaint|make a complaint|lodge a complaint|raise a complaint|submit a complaint",
        flags=re.I,
    ),
)

# Frames: greetings and fillers before, politeness and urgency after, an indirect lead-in, or a sentence or two
# of story first. None of them says what the customer wants.
ZH_PREFIXES = (
    "你好，", "您好，", "你好 请问一下", "亲，", "亲 ", "在吗？", "在吗 ", "喂，", "那个，", "嗯 ", "请问",
    "麻烦问下，", "客服你好，", "hello ", "你好呀 ", "打扰一下，", "您好 请问",
)  # fmt: skip
ZH_SUFFIXES = (
    "，谢谢", " 谢谢了", "，麻烦了", " 急", "，急急急", " 在线等", "啊", "呢", "。。。", "？？", "，快点",
    "，麻烦尽快回复", "，谢谢啦", " 拜托了",
)  # fmt: skip
ZH_LEADINS = ("我想问一下", "想咨询一下，", "我想了解下", "问一下，", "帮我看看", "跟你们说一下，", "我就想知道")
ZH_STORIES = (
    "我是你们的老客户了，", "我平时上班很忙，", "我今天一直在外面跑，", "我家里老人不会用手机，我帮他问一下，",
    "我刚下班回到家，", "之前朋友推荐我用你们的，", "我第一次用这个，不太懂，", "是这样的，", "事情是这样的，",
    "不好意思打扰一下，", "我现在在公司，不方便打电话，", "我用手机打字不太方便，", "我这人不太会说，",
    "我今天休息在家，",
)  # fmt: skip
EN_PREFIXES = (
    "hi, ", "hello, ", "hi there, quick question: ", "hey ", "excuse me, ", "good morning, ", "hello team, ",
    "sorry to bother you, ", "hi guys ", "dear customer service, ", "hey there, ", "hello? ",
)  # fmt: skip
EN_SUFFIXES = (
    ", thanks", " thank you", " thx", " please", " pls", " asap", ", thanks in advance", " cheers", "??",
    ", any help appreciated", " thank you so much",
)  # fmt: skip
EN_LEADINS = (
    "can you tell me ", "could you tell me ", "I want to know ", "I'd like to know ", "I need to know ",
    "please let me know ", "i wanna know ", "just wondering ", "I have a question, ",
)  # fmt: skip
EN_STORIES = (
    "I've been a customer for years. ", "I'm at work right now. ", "this is my first time using your service. ",
    "sorry, my English is not good. ", "so here's the thing, ", "I have a question. ", "I just got home. ",
    "my friend recommended you. ", "I'm not very good with apps. ", "I'm typing this on my phone. ",
    "hope you're having a good day. ",
)  # fmt: skip
# Indirect lead-ins only read naturally in front of a question.
_EN_QUESTION = re.compile(r"^(?:how|what|where|when|which|why|who|whats|what's|is|are|can|do|does|will)\b", re.I)


def _apply_swaps(text: str, swaps: tuple[Swap, ...], intent: str, rng: random.Random) -> str:
    """Replace each match of each applicable swap, with probability 0.6, by another wording of the same thing."""
    for swap in swaps:
        if swap.intents is not None and intent not in swap.intents:
            continue

        def replace(match: re.Match[str], swap: Swap = swap) -> str:
            if rng.random() >= 0.6:
                return match.group(0)
            return rng.choice([c for c in swap.choices if c.lower() != match.group(0).lower()] or swap.choices)

        text = swap.pattern.sub(replace, text)
    return text


def _zh_frame(text: str, rng: random.Random) -> str:
    """One Chinese frame around the request; sometimes the whole message run together without punctuation."""
    kind = rng.randrange(5)
    if kind == 0:
        text = rng.choice(ZH_PREFIXES) + text
    elif kind == 1:
        text = _TRAILING.sub("", text) + rng.choice(ZH_SUFFIXES)
    elif kind == 2:
        text = rng.choice(ZH_LEADINS) + text
    elif kind == 3:
        text = "".join(rng.sample(ZH_STORIES, rng.choice((1, 1, 2)))) + text
    else:
        text = rng.choice(ZH_PREFIXES) + _TRAILING.sub("", text) + rng.choice(ZH_SUFFIXES)
    if rng.random() < 0.35:
        text = _PUNCTUATION_ZH.sub(rng.choice(("", "", " ")), text).strip()
    return text


def _en_frame(text: str, rng: random.Random) -> str:
    """One English frame around the request; sometimes lower case without punctuation."""
    kind = rng.randrange(5)
    body = text[:1].lower() + text[1:] if not text[:2].isupper() else text
    if kind == 2 and not _EN_QUESTION.match(text):
        kind = 0
    if kind == 0:
        text = rng.choice(EN_PREFIXES) + body
    elif kind == 1:
        text = _TRAILING.sub("", text) + rng.choice(EN_SUFFIXES)
    elif kind == 2:
        text = rng.choice(EN_LEADINS) + _TRAILING.sub("", body)
    elif kind == 3:
        text = "".join(rng.sample(EN_STORIES, rng.choice((1, 1, 2)))) + body
    else:
        text = rng.choice(EN_PREFIXES) + _TRAILING.sub("", body) + rng.choice(EN_SUFFIXES)
    if rng.random() < 0.3:
        text = re.sub(r"[,.!?;:]", "", text.lower())
    return " ".join(text.split())


def paraphrase(text: str, intent: str, seed: int) -> str:
    """A loosely worded variant of a training example (the text itself for social turns such as greetings)."""
    if intent in SOCIAL_INTENTS or not _WORDS.search(text):
        return text
    rng = random.Random(f"paraphrase:{seed}:{text}")
    if _CJK.search(text):
        return _zh_frame(_apply_swaps(text, ZH_SWAPS, intent, rng), rng)
    return _en_frame(_apply_swaps(text, EN_SWAPS, intent, rng), rng)
