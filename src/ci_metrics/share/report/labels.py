"""Hebrew words of the public report: breakdowns, statuses, sources, checks, dates.

Everything the report prints that does not come from the registry lives here, so that a
proof-reader has one file to read (an indicator's own words, its domain's label included,
are registry columns). Unknown codes fall back to the code itself (a new domain or
breakdown value still shows, in its raw spelling, rather than disappearing).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ci_metrics.share.extracts.agreements import Agreement

TITLE = "קפיצת מדרגה בחינוך — דוח התקדמות ציבורי"
PARTNERSHIP = "השותפות לקפיצת מדרגה בחינוך בקריית מלאכי"
PARTNERS_LINE = "עיריית קריית מלאכי, קרנות, בתי הספר, המחלקה לשירותים חברתיים ותנועות הנוער"
LOCALITIES = {1034: "קריית מלאכי"}

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
    "early_childhood": "מסגרות הגיל הרך (מעונות וגנים)",
}

# Other folders of ops.files (not partner sources of the indicators: never "missing").
OTHER_SOURCES: dict[str, str] = {
    "cbs": "הלשכה המרכזית לסטטיסטיקה (להשוואה)",
}

# Status words. Keys are the values of marts.indicator_progress.status.
STATUS_ACHIEVED = "achieved"
STATUS_ON_TRACK = "on track"
STATUS_OFF_TRACK = "off track"
STATUS_NO_CHANGE = "no detectable change"
STATUS_NO_DATA = "no data"
STATUSES = (STATUS_ACHIEVED, STATUS_ON_TRACK, STATUS_NO_CHANGE, STATUS_OFF_TRACK, STATUS_NO_DATA)
STATUS_WORDS = {
    STATUS_ACHIEVED: "היעד הושג",
    STATUS_ON_TRACK: "בדרך ליעד",
    STATUS_NO_CHANGE: "אין שינוי מובהק",
    STATUS_OFF_TRACK: "לא בקצב הנדרש",
    STATUS_NO_DATA: "אין נתונים",
}
STATUS_EXPLAINED = {
    STATUS_ACHIEVED: "הערך האחרון כבר עומד ביעד.",
    STATUS_ON_TRACK: "ההתקדמות מאז שנת הבסיס מספיקה כדי להגיע ליעד בזמן.",
    STATUS_NO_CHANGE: "השינוי מאז שנת הבסיס קטן מכדי להבדיל אותו ממקריות: הוא בטווח המקרי.",
    STATUS_OFF_TRACK: "ההתקדמות מאז שנת הבסיס איטית מהנדרש, או שהמדד התרחק מהיעד.",
    STATUS_NO_DATA: "אין עדיין ערך שאפשר לפרסם.",
}

# Words of the intervals (marts.indicator_values ci_lower / ci_upper) and of the change tests.
WITHIN_CHANCE = "בטווח המקרי"
INTERVAL_CAPTION = "טווח סביר (95%)"
WIDE_INTERVAL = "קבוצה קטנה: הטווח הסביר רחב, והערך פחות ודאי"

# marts.official_comparison benchmark_verdict_* ('better' | 'similar' | 'worse'), by polarity.
BENCHMARKS = {
    "peers": "הרשויות באשכול החברתי־כלכלי של העיר",
    "all": "כלל הרשויות בארץ",
}
VERDICT_DIRECTION = {
    ("better", "higher_is_better"): "גבוה מזה של",
    ("worse", "lower_is_better"): "גבוה מזה של",
    ("better", "lower_is_better"): "נמוך מזה של",
    ("worse", "higher_is_better"): "נמוך מזה של",
}
VERDICT_SIMILAR = "דומה לזה של"
VERDICT_MEANING = {
    "better": "לטובת העיר",
    "worse": "לרעת העיר",
    "similar": "ההבדל בטווח המקרי",
}

# marts.indicator_funnel.funnel_position in words (unknown codes print as they are).
FUNNEL_POSITIONS = {
    "within": "בתוך גבולות הבקרה (בטווח המקרי)",
    "above 95%": "מעל גבול 95%",
    "below 95%": "מתחת לגבול 95%",
    "above 99.8%": "מעל גבול 99.8%",
    "below 99.8%": "מתחת לגבול 99.8%",
}

POLARITY = {"higher_is_better": "ככל שגבוה יותר — טוב יותר", "lower_is_better": "ככל שנמוך יותר — טוב יותר"}

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
    "early_childhood": "קובצי מסגרות הגיל הרך",
    "marts": "ערכי המדדים",
    "registry": "שלמות המדדים (לכל מדד יש ערך עדכני)",
    "volumes": "היקף הקבצים לעומת השנה הקודמת",
    "jumps": "שינויים חריגים משנה לשנה",
}

# Kinds of check (marts.data_quality_failed_checks.check_category) in words.
CHECK_CATEGORIES: dict[str, str] = {
    "row_count": "יש נתונים בכלל",
    "not_null": "ערכים חסרים",
    "is_null": "ערכים שאמורים להיות ריקים",
    "unique": "רשומות כפולות",
    "in_set": "ערכים מחוץ לרשימה המותרת",
    "pattern": "מבנה שגוי",
    "range": "ערכים מחוץ לטווח הסביר",
    "order": "סדר תאריכים או יחס בין שדות",
    "other": "בדיקה אחרת",
}

# Categories of the reasons of ops.rejects (marts.data_quality_rejects.reject_category) in
# words. The reason text is never printed itself (it may quote a column of a partner's file).
REJECT_CATEGORIES: dict[str, str] = {
    "id_check_digit": "מספר זהות שספרת הביקורת שלו שגויה",
    "id_missing": "מספר זהות חסר",
    "id_malformed": "מספר זהות במבנה שגוי",
    "unknown_file": "קובץ שלא זוהה",
    "unreadable_file": "קובץ שלא ניתן לקרוא",
    "empty_field": "שדה חובה ריק",
    "invalid_date": "תאריך לא תקין",
    "not_a_number": "ערך שאינו מספר",
    "out_of_range": "ערך מחוץ לטווח",
    "not_allowed_value": "ערך שאינו ברשימה המותרת",
    "other": "סיבה אחרת",
}


def domain_label(domain: str | None, domain_he: str | None = None) -> str:
    """The registry's Hebrew label of the domain, else the domain's code."""
    if domain_he:
        return domain_he
    if not domain:
        return "מדדים נוספים"
    return str(domain)


def dimension_label(dimension: str) -> str:
    return DIMENSIONS.get(dimension, dimension)


def dimension_value_label(dimension: str, value: str, gender_labels: str | None = None) -> str:
    """A breakdown's row label: ``male`` -> בנים (registry ``gender_labels`` = ``boys_girls``:
    pupils, youth, children) or גברים (``men_women``, the default: adults)."""
    if dimension == "gender":
        young = gender_labels == "boys_girls"
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


def group_value_label(agreement: Agreement, dimension: str, value: str, gender_labels: str | None) -> str:
    """A breakdown row as the public sees it: the agreement's group (its Hebrew name), else
    :func:`dimension_value_label`."""
    return agreement.group_label_he(dimension, value) or dimension_value_label(
        dimension, value, gender_labels
    )


def source_label(source: str) -> str:
    return SOURCES.get(source) or OTHER_SOURCES.get(source, source)


def suite_label(suite: str) -> str:
    return SUITES.get(suite, suite)


def local_date(utc: dt.datetime) -> dt.date:
    """The machine's local date of a moment of the warehouse (UTC, no zone), as ``--as-of`` reads
    one and as the report's own date is taken."""
    return utc.replace(tzinfo=dt.UTC).astimezone().date()


def hebrew_date(day: dt.date) -> str:
    return f"{day.day} ב{HEBREW_MONTHS[day.month - 1]} {day.year}"
