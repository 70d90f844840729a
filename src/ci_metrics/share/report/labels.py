"""Hebrew words of the public report: domains, breakdowns, statuses, sources, checks, dates.

Everything the report prints that does not come from the registry lives here, so that a
proof-reader has one file to read. Unknown codes fall back to the code itself (a new
domain or breakdown value still shows, in its raw spelling, rather than disappearing).
"""

from __future__ import annotations

import datetime as dt
import re

TITLE = "קפיצת מדרגה בחינוך — דוח התקדמות ציבורי"
PARTNERSHIP = "השותפות לקפיצת מדרגה בחינוך בקריית מלאכי"
PARTNERS_LINE = "עיריית קריית מלאכי, קרנות, בתי הספר, המחלקה לשירותים חברתיים ותנועות הנוער"
LOCALITIES = {1034: "קריית מלאכי"}

# Domains of INDICATORS.md, in the order of the common agenda.
DOMAINS: dict[str, str] = {
    "excellence": "מצוינות בלימודים",
    "formal education": "חינוך פורמלי",
    "equity": "שוויון הזדמנויות",
    "informal education": "חינוך בלתי פורמלי",
    "welfare": "רווחה",
    "demography": "דמוגרפיה",
    "trust": "אמון ותחושת עתיד",
}

DIMENSIONS: dict[str, str] = {
    "total": "סך הכול",
    "school": "לפי בית ספר",
    "gender": "לפי מגדר",
    "community": "לפי קהילת מוצא",
    "neighborhood": "לפי שכונה",
    "age_group": "לפי קבוצת גיל",
}
DIMENSION_ORDER = ("total", "gender", "community", "age_group", "neighborhood", "school")

COMMUNITY_VALUES = {"ethiopian_origin": "יוצאי אתיופיה", "other": "שאר התושבים", "unknown": "לא ידוע"}

SOURCES: dict[str, str] = {
    "residents": "מרשם התושבים",
    "schools": "בתי הספר (הישגים ונשירה)",
    "youth": "תנועות הנוער",
    "welfare": "המחלקה לשירותים חברתיים",
    "surveys": "סקר התושבים",
}

# Other folders of ops.files (not partner sources of the indicators: never "missing").
OTHER_SOURCES: dict[str, str] = {
    "cbs": "הלשכה המרכזית לסטטיסטיקה (להשוואה)",
}

# Status words. Keys are the normalised spellings of marts.indicator_progress.status.
STATUS_ACHIEVED = "achieved"
STATUS_ON_TRACK = "on track"
STATUS_OFF_TRACK = "off track"
STATUS_NO_DATA = "no data"
STATUSES = (STATUS_ACHIEVED, STATUS_ON_TRACK, STATUS_OFF_TRACK, STATUS_NO_DATA)
STATUS_WORDS = {
    STATUS_ACHIEVED: "היעד הושג",
    STATUS_ON_TRACK: "בדרך ליעד",
    STATUS_OFF_TRACK: "לא בקצב הנדרש",
    STATUS_NO_DATA: "אין נתונים",
}
STATUS_EXPLAINED = {
    STATUS_ACHIEVED: "הערך האחרון כבר עומד ביעד.",
    STATUS_ON_TRACK: "ההתקדמות מאז שנת הבסיס מספיקה כדי להגיע ליעד בזמן.",
    STATUS_OFF_TRACK: "ההתקדמות מאז שנת הבסיס איטית מהנדרש, או שהמדד התרחק מהיעד.",
    STATUS_NO_DATA: "אין עדיין ערך שאפשר לפרסם.",
}

POLARITY = {"higher": "ככל שגבוה יותר — טוב יותר", "lower": "ככל שנמוך יותר — טוב יותר"}

HEBREW_MONTHS = (
    "ינואר",
    "פברואר",
    "מרץ",
    "אפריל",
    "מאי",
    "יוני",
    "יולי",
    "אוגוסט",
    "ספטמבר",
    "אוקטובר",
    "נובמבר",
    "דצמבר",
)

# Validation suites (expectations/*.yml) in words.
SUITES: dict[str, str] = {
    "residents": "מרשם התושבים",
    "schools": "קובצי בתי הספר",
    "youth": "רשימות תנועות הנוער",
    "welfare": "תיקי הרווחה",
    "surveys": "סקר התושבים",
    "marts": "ערכי המדדים",
    "registry": "שלמות המדדים (לכל מדד יש ערך עדכני)",
    "volumes": "היקף הקבצים לעומת השנה הקודמת",
    "jumps": "שינויים חריגים משנה לשנה",
}

_EXPECTATIONS: tuple[tuple[str, str], ...] = (
    ("row_count", "יש נתונים בכלל"),
    ("to_not_be_null", "ערכים חסרים"),
    ("to_be_null", "ערכים שאמורים להיות ריקים"),
    ("unique", "רשומות כפולות"),
    ("in_set", "ערכים מחוץ לרשימה המותרת"),
    ("match_regex", "מבנה שגוי"),
    ("between", "ערכים מחוץ לטווח הסביר"),
    ("greater_than", "סדר תאריכים או יחס בין שדות"),
)


def expectation_words(expectation: str) -> str:
    for key, words in _EXPECTATIONS:
        if key in expectation:
            return words
    return "בדיקה אחרת"


# Reasons of ops.rejects, by pattern, to a few categories in words. The reason text is
# never printed itself (it may quote a column of a partner's file); only the category.
_REJECT_REASONS: tuple[tuple[str, str], ...] = (
    (r"check digit", "מספר זהות שספרת הביקורת שלו שגויה"),
    (r"national ID is empty", "מספר זהות חסר"),
    (r"national ID", "מספר זהות במבנה שגוי"),
    (r"not a source folder|unknown file|no layout", "קובץ שלא זוהה"),
    (r"cannot|could not|unreadable|encoding|sheet|header|missing column", "קובץ שלא ניתן לקרוא"),
    (r"is empty", "שדה חובה ריק"),
    (r"not a valid date|date and time", "תאריך לא תקין"),
    (r"not a whole number|not a number", "ערך שאינו מספר"),
    (r"is below|is above", "ערך מחוץ לטווח"),
    (r"is not one of", "ערך שאינו ברשימה המותרת"),
)
OTHER_REASON = "סיבה אחרת"


def reject_reason_words(reason: str | None) -> str:
    text = reason or ""
    for pattern, words in _REJECT_REASONS:
        if re.search(pattern, text, flags=re.IGNORECASE):
            return words
    return OTHER_REASON


def domain_label(domain: str | None) -> str:
    if not domain:
        return "מדדים נוספים"
    return DOMAINS.get(str(domain).strip().lower(), str(domain))


def dimension_label(dimension: str) -> str:
    return DIMENSIONS.get(dimension, dimension)


def dimension_value_label(dimension: str, value: str, indicator_id: str = "") -> str:
    """A breakdown's row label: ``male`` -> בנים (pupils) or גברים (adults)."""
    if dimension == "gender":
        young = indicator_id.startswith(("edu_", "yth_"))
        if value == "male":
            return "בנים" if young else "גברים"
        if value == "female":
            return "בנות" if young else "נשים"
    if dimension == "community":
        return COMMUNITY_VALUES.get(value, value)
    if value == "unknown":
        return "לא ידוע"
    if dimension == "school":
        return f"בית ספר {value}"
    return value


def source_label(source: str) -> str:
    return SOURCES.get(source) or OTHER_SOURCES.get(source, source)


def suite_label(suite: str) -> str:
    return SUITES.get(suite, suite)


def normalise_status(status: object) -> str:
    if status is None:
        return STATUS_NO_DATA
    text = re.sub(r"[\s_\-]+", " ", str(status).strip().lower())
    if text in STATUSES:
        return text
    if text in ("ontrack", "on target"):
        return STATUS_ON_TRACK
    if text in ("offtrack", "behind", "off target"):
        return STATUS_OFF_TRACK
    if text in ("met", "reached", "achieved target"):
        return STATUS_ACHIEVED
    return STATUS_NO_DATA


def polarity_key(polarity: object) -> str:
    """``higher`` or ``lower`` from whatever the registry says (higher is better, lower_is_better...)."""
    text = str(polarity or "").lower()
    return "lower" if "lower" in text or "down" in text or "נמוך" in text else "higher"


def hebrew_date(day: dt.date) -> str:
    return f"{day.day} ב{HEBREW_MONTHS[day.month - 1]} {day.year}"
