"""Repair phrases: the words customers use to cancel, correct or leave the queue, recognised deterministically.

Inside a form or the human queue these words must never be left to the intent model's guess ("取消" alone
was read as a billing complaint at 0.51). A message counts only when it is made *entirely* of such phrases
and polite filler ("算了吧，谢谢", "no thanks, cancel it"): "cancel my delivery change and send it to my office"
is a request, not a repair, and goes to the model. Bot (app environment), Rasa channel and actions (engine
environment) all import this module, so it depends on the standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum


class Repair(str, Enum):
    """What a repair message asks for."""

    CANCEL = "cancel"
    CORRECT = "correct"
    BACK = "back"


# Whole phrases, after normalise(): lower case, no punctuation/emoji/spaces. Chinese and English together.
_CANCEL = (
    # zh
    "取消", "算了", "不用了", "不用", "不要了", "不要", "退出", "别弄了", "不弄了", "不办了", "不投诉了", "不改了",
    "不寄了", "不约了", "不预约了", "不评价了", "不需要了", "不需要", "停", "停止", "结束", "放弃", "撤销", "撤回",
    "没事了", "没事", "不想弄了", "先不用", "先不了", "先算了", "暂时不用", "以后再说", "下次再说", "取消吧",
    "取消操作", "取消投诉", "取消预约", "取消修改", "取消评价", "取消寄件", "不聊了", "不用麻烦了",
    # en
    "cancel", "cancelit", "cancelthat", "cancelthis", "stop", "stopit", "stopthis", "quit", "exit", "abort",
    "nevermind", "nvm", "forgetit", "forgetabout", "forgetaboutit", "forgetthat", "nothanks", "notnow",
    "idontwantto", "idontwantitanymore", "idontneedit", "idontneedthat", "dontbother", "nolonger",
    "changedmymind", "ivechangedmymind", "ichangedmymind", "leaveit", "dropit", "skipit",
    "cancelthecomplaint", "cancelthepickup", "cancelthechange", "cancelmycomplaint", "cancelmyrequest",
    "cancelthefeedback", "cancelplease", "pleasecancel", "pleasestop", "letsnot", "noneed",
)
_CORRECT = (
    "改一下", "改改", "我要改", "要改", "改", "写错了", "输错了", "填错了", "打错了", "说错了", "弄错了", "不对",
    "不对不对", "错了", "搞错了", "重新填", "重填", "修改", "更正", "纠正", "改一下地址", "改一下时间",
    "thatswrong", "thatisnotright", "thatsnotright", "wrong", "itswrong", "mistake", "imadeamistake", "typo",
    "letmecorrect", "letmecorrectthat", "letmefixthat", "correction", "edit", "editit", "change", "changeit",
    "changethat", "iwanttochangethat", "iwanttochangeit", "notright", "oops", "oopswrong",
)
_BACK = ("返回", "上一步", "退回", "回去", "back", "goback", "previous", "previousstep", "stepback")
# Polite or filler words that may surround a repair phrase without changing what it asks.
_FILLER = (
    "吧", "了", "啦", "呀", "啊", "哦", "噢", "嗯", "呢", "吗", "哈", "那", "那就", "就", "还是", "我", "我想", "我要",
    "先", "请", "麻烦", "帮我", "谢谢", "谢了", "好的", "好", "行", "算", "这个", "那个", "一下", "吧谢谢",
    "please", "pls", "plz", "thanks", "thank", "thankyou", "you", "ok", "okay", "oh", "ah", "um", "uh", "so",
    "just", "actually", "sorry", "hmm", "no", "nope", "i", "want", "to", "it", "that", "this", "all", "then",
    "lets", "well", "anyway", "now", "the", "a", "mind",
)


def normalise(text: str) -> str:
    """Lower case, half-width, without spaces, punctuation, symbols or emoji."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("'", "")
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def _words(text: str) -> list[str]:
    """The text as tokens: Latin words whole, Chinese as one run (matched greedily below)."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("'", "")
    return [token for token in re.split(r"[^\w]+|(?<=[a-z0-9])(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])(?=[a-z0-9])",
                                        folded) if token]


def _covered(run: str, phrases: tuple[str, ...]) -> bool:
    """Whether a run is made only of repair phrases and filler, and holds at least one repair phrase."""
    vocabulary = sorted(set(phrases) | set(_FILLER), key=len, reverse=True)
    wanted = set(phrases)
    # reachable[i] = (covered up to i, a repair phrase seen on the way)
    reachable: dict[int, bool] = {0: False}
    for start in range(len(run)):
        if start not in reachable:
            continue
        for word in vocabulary:
            if run.startswith(word, start):
                end = start + len(word)
                seen = reachable[start] or word in wanted
                reachable[end] = reachable.get(end, False) or seen
    return reachable.get(len(run), False)


def _matches(text: str, phrases: tuple[str, ...]) -> bool:
    """The whole message is the phrases plus filler (at most eight tokens: longer messages are requests)."""
    tokens = _words(text)
    if not tokens or len(tokens) > 8 or len(normalise(text)) > 24:
        return False
    return _covered("".join(normalise(token) for token in tokens), phrases)


def repair_of(text: str) -> Repair | None:
    """Whether a message only cancels, corrects or steps back; None when it says anything else."""
    if _matches(text, _CANCEL):
        return Repair.CANCEL
    if _matches(text, _CORRECT):
        return Repair.CORRECT
    if _matches(text, _BACK):
        return Repair.BACK
    return None


def is_cancel(text: str) -> bool:
    """A message that only says "cancel" in one of its many forms (取消, 算了, never mind, forget it…)."""
    return repair_of(text) is Repair.CANCEL


# Leaving the human queue: any cancel phrase, or one naming the person/agent being cancelled.
_LEAVE_QUEUE = _CANCEL + (
    "取消转人工", "不用转人工", "不转人工", "不用转人工了", "不要人工", "不用人工", "不需要人工", "不需要人工了",
    "不用人工了", "不要人工了", "不用客服", "不用客服了", "不需要客服", "不找客服了", "不找人工了",
    "取消人工", "取消人工客服",
    "cancelagent", "canceltheagent", "cancelhuman", "cancelthehuman", "nohuman", "noagent", "idontneedanagent",
    "idontneedahuman", "dontneedanagent", "dontneedahuman", "nomorehelpneeded", "leavethequeue", "leavequeue",
    "withdraw", "imfine", "solved", "itssolved", "sorteditout", "isortedit", "nevermindtheagent",
    "cancelthehandoff", "cancelhandoff", "canceltherequest", "问题解决了", "已经解决了", "解决了", "好了不用了",
)


def leaves_queue(text: str) -> bool:
    """A queued customer withdrawing the request for a person (不用了，取消转人工 / never mind the agent)."""
    return _matches(text, _LEAVE_QUEUE)
