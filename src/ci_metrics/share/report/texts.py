"""Plain-language Hebrew texts of the public report that are not facts of one indicator.

Every indicator's own texts (name, definition, domain and owner in Hebrew) are registry
columns (``seeds/indicator_registry.csv``, read from ``marts.indicators``): this module
knows no indicator by name. An indicator without a Hebrew definition shows the registry's
English one (marked as English), and the run warns naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ci_metrics.share.report.formatting import format_change
from ci_metrics.share.report.labels import SOURCES, WITHIN_CHANCE

if TYPE_CHECKING:
    from ci_metrics.share.report.views import IndicatorView, SourceQuality

PERIOD_NOTES: dict[str, str] = {
    "schools": "השנה היא שנת הלימודים: 2021 פירושה שנת הלימודים 2020/21 (תשפ״א).",
    "youth": "השנה היא שנת הפעילות: 2021 פירושה שנת הפעילות 2020/21.",
    "surveys": "השנה היא שנת הסקר.",
    "early_childhood": "השנה היא שנת הפעילות: 2021 פירושה שנת הפעילות 2020/21; הרישום נבדק ב־1 בינואר 2021.",
}


CHANGE_WITHIN_CHANCE = (
    "השינוי מאז שנת הבסיס " + WITHIN_CHANCE + ": שינוי בגודל כזה יכול לקרות גם בלי שום שינוי אמיתי."
)
CHANGE_REAL = "השינוי מאז שנת הבסיס גדול מהטווח המקרי: סביר שזה שינוי אמיתי."

ABOUT_INTERVALS: tuple[str, ...] = (
    "כל מספר בחוברת נמדד על קבוצה מוגבלת של אנשים: כ־400 תלמידי כיתה יב בשנה, כמה עשרות תלמידים "
    "יוצאי אתיופיה בכל שנתון, כ־600 משיבים בכל סקר. גם אם שום דבר לא השתנה בעיר, המספר יעלה "
    "או ירד מעט משנה לשנה, רק בגלל מי שנמצא בקבוצה באותה שנה.",
    "לכן ליד כל ערך מוצג גם טווח סביר: הטווח שבו נמצא, בסבירות של 95%, הערך ״האמיתי״ שהמספר מודד. "
    "בתרשים הטווח הוא הרצועה הבהירה סביב הקו; בפילוחים הוא הקו הדק עם הקצוות סביב כל עמודה. "
    "ככל שהקבוצה קטנה יותר, הטווח רחב יותר והערך פחות ודאי; עמודה בהירה מסמנת קבוצה שהטווח שלה רחב במיוחד.",
    "שינוי נקרא מובהק רק כשהטווח הסביר של השינוי כולו מעל אפס או כולו מתחת לאפס. אחרת השינוי "
    + WITHIN_CHANCE
    + ", והמצב של המדד הוא ״אין שינוי מובהק״: אי אפשר לומר שהמדד השתפר או נסוג, וגם לא שהוא לא השתנה.",
    "השוואה לרשויות אחרות לפי נתוני הלשכה המרכזית לסטטיסטיקה: העיר ״גבוהה מ״ או ״נמוכה מ״ הרשויות "
    "הדומות רק כשהטווח הסביר שלה אינו כולל את הערך שלהן; אחרת היא ״דומה״ להן.",
)


def target_rule_words(rule: str | None, parameter: float | None) -> str | None:
    """The steering committee's target in words: ``fixed`` needs none."""
    if parameter is None:
        return None
    p = float(parameter)
    if rule == "baseline_times":
        if p == 0.5:
            return "מחצית מערך הבסיס"
        if p == 2:
            return "פי שניים מערך הבסיס"
        return f"ערך הבסיס כפול {p:g}"
    if rule == "baseline_plus":
        sign = "ועוד" if p >= 0 else "פחות"
        return f"ערך הבסיס {sign} {abs(p):g} נקודות"
    return None


def describe_trend(ind: IndicatorView) -> str:
    """The chart's description in words (its ``<desc>`` and the screen-reader text)."""
    parts: list[str] = [f"{ind.name_he}."]
    if not ind.in_public_agreement:
        return parts[0] + " המדד אינו כלול בהסכם הפרסום לציבור."
    published = [(p.period, p.figure) for p in ind.series if p.figure.value is not None]
    if not published:
        parts.append("אין עדיין ערכים שאפשר לפרסם.")
    else:
        (first_period, first), (last_period, last) = published[0], published[-1]
        if ind.baseline_period is not None and ind.baseline.value is not None:
            parts.append(f"בשנת הבסיס {ind.baseline_period}: {ind.baseline.text}.")
        elif first_period != last_period:
            parts.append(f"בשנת {first_period}: {first.text}.")
        if len(published) > 1 or ind.baseline.value is None:
            parts.append(f"בשנת {last_period}: {last.text}.")
        change = last.minus(ind.baseline)
        if change is not None and last_period != ind.baseline_period:
            diff, decimals = change
            if abs(diff) < 10 ** (-last.decimals) / 2:
                parts.append("ללא שינוי מאז שנת הבסיס.")
            else:
                direction = "עלייה" if diff > 0 else "ירידה"
                amount = format_change(abs(diff), ind.unit, decimals).lstrip("+")
                parts.append(f"{direction} של {amount} מאז שנת הבסיס.")
            if ind.within_chance:
                parts.append(CHANGE_WITHIN_CHANCE)
            elif ind.change_significant:
                parts.append(CHANGE_REAL)
        if len(published) >= 3:
            hi = max(published, key=lambda pf: pf[1].value or 0.0)
            lo = min(published, key=lambda pf: pf[1].value or 0.0)
            parts.append(f"הערך הגבוה ביותר: {hi[1].text} ({hi[0]}); הנמוך ביותר: {lo[1].text} ({lo[0]}).")
    if (
        len(published) >= 2
        and published[-2][0] == published[-1][0] - 1
        and ind.previous_change_significant is False
    ):
        parts.append(f"גם השינוי בין {published[-2][0]} ל־{published[-1][0]} {WITHIN_CHANCE}.")
    if published and published[-1][1].has_interval:
        last_period, last = published[-1]
        parts.append(f"הטווח הסביר של ערך {last_period}: {last.interval_words}.")
    for b in ind.benchmarks:
        parts.append(f"בשנת {b.period} הערך {b.words} {b.group} ({b.meaning}).")
    if ind.target.value is not None and ind.target_period is not None:
        parts.append(f"היעד לשנת {ind.target_period}: {ind.target.text}.")
    parts.append(f"מצב: {ind.status_words}.")
    hidden = [p.period for p in ind.series if p.figure.suppressed]
    if hidden:
        parts.append(f"הערכים של {', '.join(str(y) for y in hidden)} אינם מוצגים כדי להגן על פרטיות.")
    return " ".join(parts)


def missing_notes(
    indicators: list[IndicatorView], sources: list[SourceQuality] | None, latest: int | None
) -> list[str]:
    """What the reader should know is missing: partner sources with no file loaded (when the
    warehouse records files: ``sources`` not None), gaps in a series, late indicators."""
    loaded = {s.source for s in sources or [] if s.files_loaded}
    notes = [f"לא נקלט אף קובץ של {words}." for src, words in SOURCES.items() if src not in loaded]
    notes = notes if sources is not None else []
    for ind in indicators:
        if not ind.in_public_agreement:
            notes.append(f"{ind.name_he}: המדד אינו כלול בהסכם הפרסום לציבור ולכן אינו מוצג.")
        elif not ind.series:
            notes.append(f"{ind.name_he}: אין עדיין נתונים.")
        else:
            gaps = [str(p.period) for p in ind.series if p.figure.value is None and not p.figure.suppressed]
            if gaps:
                notes.append(f"{ind.name_he}: חסרים נתונים לשנים {', '.join(gaps)}.")
            if latest is not None and ind.latest_period is not None and ind.latest_period < latest:
                notes.append(
                    f"{ind.name_he}: הנתון האחרון הוא של {ind.latest_period}; נתוני {latest} טרם התקבלו."
                )
    return notes


# --------------------------------------------------------------------------- revisions

# The causes of marts.indicator_revisions (and of ci_metrics.share.extracts.revisions.with_causes)
# in plain Hebrew; "files changed" is worded from the files themselves (revision_file_words).
REVISION_CAUSES: dict[str, str] = {
    "definition changed": "שינוי בהגדרת המדד",
    "no file or definition change recorded": "הנתון חושב מחדש; לא נרשם קובץ חדש או שינוי בהגדרה",
    "disclosure control: a related cell changed": "שינוי בהסתרת תאים קטנים",
}
FILES_CHANGED_CAUSE = "files changed"
FILES_CHANGED_WORDS = "התקבלו קבצים חדשים או מתוקנים מהמקורות"
# How a file changed between two publishes -> (one file, several files).
REVISION_FILE_WORDS: dict[str, tuple[str, str]] = {
    "corrected": ("התקבל קובץ מתוקן מהמקור", "התקבלו קבצים מתוקנים מהמקור"),
    "entered": ("התקבל קובץ חדש מהמקור", "התקבלו קבצים חדשים מהמקור"),
    "left": ("קובץ הוצא מהחישוב", "קבצים הוצאו מהחישוב"),
}


def revision_file_words(change: str, count: int) -> str:
    """``corrected`` (a file of the same name entered and left), ``entered`` or ``left``."""
    one, several = REVISION_FILE_WORDS[change]
    return one if count == 1 else several


def revisions_note(state: str, since: str | None, since_report: bool) -> str:
    """The sentence of the data note on revisions when no value is listed (``state`` of
    :class:`~ci_metrics.share.report.views.RevisionsView`); ``since``: the date in words."""
    earlier = f"הדוח הקודם ({since})" if since_report else f"הפרסום הקודם של הנתונים ({since})"
    if state == "first":
        return "זוהי המהדורה הראשונה של הדוח: אין מהדורה קודמת להשוות אליה."
    if state == "no_history":
        return f"היסטוריית הפרסומים אינה מגיעה עד {earlier}, ולכן אי אפשר לפרט מה תוקן מאז."
    if state == "unchanged":
        return f"אף ערך שפורסם לא תוקן מאז {earlier}."
    return ""


def revised_count_words(values: int, indicators: int) -> str:
    """The count of revised values in words: "תוקנו 6 ערכים שפורסמו, ב־2 מדדים" (singular for one)."""
    what = "תוקן ערך אחד שפורסם" if values == 1 else f"תוקנו {values} ערכים שפורסמו"
    where = "במדד אחד" if indicators == 1 else f"ב־{indicators} מדדים"
    return f"{what}, {where}"
