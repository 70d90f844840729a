"""Plain-language Hebrew texts of the shared indicators, for the public report.

The registry (``seeds/indicator_registry.csv``) words definitions, sources and owners in
English for the data team; households read Hebrew. A column ``definition_he`` in the
registry, when it exists, wins over the texts below; an indicator without a Hebrew text
shows the registry's definition (marked as English).
"""

from __future__ import annotations

DEFINITIONS_HE: dict[str, str] = {
    "edu_bagrut_eligibility": ("מתוך כל תלמידי כיתה יב בבתי הספר בעיר, כמה אחוזים זכאים לתעודת בגרות."),
    "edu_bagrut_university": (
        "מתוך כל תלמידי כיתה יב, כמה אחוזים זכאים לתעודת בגרות העומדת בדרישות הסף של האוניברסיטאות."
    ),
    "edu_math_5_units": ("מתוך כל תלמידי כיתה יב, כמה אחוזים לומדים מתמטיקה ברמת 5 יחידות לימוד."),
    "edu_dropout": (
        "מתוך כל התלמידים בכיתות ז עד יב בבתי הספר בעיר, כמה אחוזים עזבו את בית הספר במהלך שנת הלימודים."
    ),
    "edu_bagrut_gap_ethiopian": (
        "ההפרש, בנקודות אחוז, בין שיעור הזכאות לבגרות של תלמידי כיתה יב שאינם יוצאי אתיופיה "
        "לבין שיעור הזכאות של תלמידי כיתה יב יוצאי אתיופיה."
    ),
    "yth_movement_participation": (
        "מתוך כל בני ובנות 9 עד 18 הגרים בעיר ב־1 בינואר, כמה אחוזים פעילים בתנועת נוער אחת לפחות "
        "באותה שנת פעילות (כל נער או נערה נספרים פעם אחת)."
    ),
    "wel_families_known": (
        "מתוך כל משקי הבית בעיר, כמה אחוזים היה להם תיק פתוח במחלקה לשירותים חברתיים בשלב כלשהו במהלך השנה."
    ),
    "dem_net_migration": (
        "מספר האנשים שעברו לגור בעיר במהלך השנה פחות מספר האנשים שעזבו אותה, "
        "לכל 1,000 תושבים שגרו בעיר ב־1 בינואר. מספר חיובי: יותר באים מאשר עוזבים."
    ),
    "srv_trust_municipality": (
        "בסקר התושבים השנתי: כמה אחוזים מהמשיבים ענו 4 או 5 (בסולם של 1 עד 5) על השאלה "
        "עד כמה הם נותנים אמון בעירייה. התשובות משוקללות כך שייצגו את כלל התושבים הבוגרים."
    ),
    "srv_optimism": (
        "בסקר התושבים השנתי: כמה אחוזים מהמשיבים ענו 4 או 5 (בסולם של 1 עד 5) על השאלה "
        "עד כמה הם אופטימיים לגבי עתיד העיר. התשובות משוקללות כך שייצגו את כלל התושבים הבוגרים."
    ),
    "srv_intent_to_stay": (
        "בסקר התושבים השנתי: כמה אחוזים מהמשיבים ענו 4 או 5 (בסולם של 1 עד 5) על השאלה "
        "עד כמה הם מתכוונים להמשיך לגור בעיר. התשובות משוקללות כך שייצגו את כלל התושבים הבוגרים."
    ),
}

OWNERS_HE: dict[str, str] = {
    "Municipal education department (Ministry of Education data)": "מחלקת החינוך בעירייה (נתוני משרד החינוך)",
    "Municipal education department": "מחלקת החינוך בעירייה",
    "Municipal youth department and the youth movements": "מחלקת הנוער בעירייה ותנועות הנוער",
    "Municipal social-services department": "המחלקה לשירותים חברתיים בעירייה",
    "Municipal population register": "מרשם התושבים העירוני",
    "Partnership backbone (annual resident survey)": "צוות השותפות (סקר התושבים השנתי)",
}

PERIOD_NOTES: dict[str, str] = {
    "schools": "השנה היא שנת הלימודים: 2021 פירושה שנת הלימודים 2020/21 (תשפ״א).",
    "youth": "השנה היא שנת הפעילות: 2021 פירושה שנת הפעילות 2020/21.",
    "surveys": "השנה היא שנת הסקר.",
}


def target_rule_words(rule: object, parameter: object) -> str | None:
    """The steering committee's target in words: ``fixed`` needs none."""
    try:
        p = float(parameter)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
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
