-- bench/plain_load.sql -- the load half of the plain end-to-end baseline (issue 16).
--
-- Reads every partner file of an inbox into the raw.* tables that bench/baseline.sql reads,
-- with the rows the pipeline would reject left out, so that the two scripts together are a
-- competent plain job: no orchestration, ledger, archive, validation suites or
-- pseudonymisation (IDs stay as their 9 digits), but the same rows in, the same numbers out.
-- bench/plain.py runs it after it has converted what DuckDB cannot read offline (cp1255
-- text, spreadsheets) into UTF-8 CSV under getvariable('converted'); UTF-8 files are read
-- in place from getvariable('converted'). Every table is one multi-file, multi-threaded scan.
--
-- Row rules kept identical to the layouts (src/ci_metrics/ingest/layouts/*.yml): a cell is
-- trimmed, empty -> null; a required cell must be present; a present cell must be valid
-- (IDs: 1-9 ASCII digits, leading zeros restored, Israeli check digit; dates in the
-- layout's format or ISO; codes and flags among the listed values; whole numbers within
-- their bounds). A row with any failure is left out. Locality, period and snapshot date
-- come from the file name.

create schema if not exists raw;

create or replace temp macro cell(x) as nullif(trim(x), '');

-- an ID's 9 digits (leading zeros restored, Excel's trailing .0 removed), null when not 1-9 digits
create or replace temp macro id9(x) as
    case
        when regexp_full_match(regexp_replace(trim(x), '\.0+$', ''), '[0-9]{1,9}')
            then lpad(regexp_replace(trim(x), '\.0+$', ''), 9, '0')
    end;

create or replace temp macro digit_at(x, i) as ascii(substr(x, i, 1)) - 48;

create or replace temp macro doubled(d) as 2 * d - 9 * cast(d >= 5 as integer);

-- the Israeli check digit (Luhn variant: weights 1, 2, 1, 2, ...)
create or replace temp macro id_ok(x) as
    x is not null
    and (
        digit_at(x, 1) + doubled(digit_at(x, 2)) + digit_at(x, 3) + doubled(digit_at(x, 4))
        + digit_at(x, 5) + doubled(digit_at(x, 6)) + digit_at(x, 7) + doubled(digit_at(x, 8))
        + digit_at(x, 9)
    ) % 10 = 0;

create or replace temp macro day(x, fmt) as
    cast(coalesce(try_strptime(cell(x), fmt), try_strptime(cell(x), '%Y-%m-%d')) as date);

-- present and unparseable: the row is rejected
create or replace temp macro bad_day(x, fmt) as cell(x) is not null and day(x, fmt) is null;

create or replace temp macro whole(x) as try_cast(cell(x) as bigint);

create or replace temp macro bad_whole(x) as cell(x) is not null and whole(x) is null;

create or replace temp macro flag(x, yes, no) as
    case when list_contains(yes, lower(cell(x))) then true when list_contains(no, lower(cell(x))) then false end;

create or replace temp macro file_locality(f) as cast(regexp_extract(f, '_(\d+)_\d+\.\w+$', 1) as integer);

create or replace temp macro file_period(f) as cast(regexp_extract(f, '_(\d{4})\.\w+$', 1) as integer);

create or replace temp macro file_snapshot(f) as cast(strptime(regexp_extract(f, '_(\d{8})\.\w+$', 1), '%Y%m%d') as date);

create or replace temp macro base_name(f) as regexp_extract(f, '[^/]+$');

-- ---------------------------------------------------------------------------------------
-- the register (converted from cp1255; bench/plain.py adds each row's line number)
-- ---------------------------------------------------------------------------------------

create or replace table raw.residents as
with typed as (
    select
        file_locality(filename) as locality_code,
        file_snapshot(filename) as snapshot_date,
        id9("מספר זהות") as person_key,
        day("תאריך לידה", '%d/%m/%Y') as birth_date,
        cell("מין") as sex,
        cell("שכונה") as neighborhood,
        cell("ארץ לידה") as birth_country,
        cell("ארץ לידת האב") as father_birth_country,
        cell("מספר משק בית") as household_number,
        day("תאריך כניסה ליישוב", '%d/%m/%Y') as arrival_date,
        day("תאריך עזיבה", '%d/%m/%Y') as departure_date,
        bad_day("תאריך כניסה ליישוב", '%d/%m/%Y') or bad_day("תאריך עזיבה", '%d/%m/%Y') as bad_optional,
        base_name(filename) as _file_name,
        cast(_row_number as bigint) as _row_number
    from read_csv(getvariable('converted') || '/residents/*.csv', all_varchar = true, filename = true, files_to_sniff = 1, quote = '"', escape = '"')
)
select * exclude (bad_optional)
from typed
where id_ok(person_key)
    and birth_date is not null
    and sex in ('ז', 'נ')
    and neighborhood is not null
    and household_number is not null
    and not bad_optional;

-- ---------------------------------------------------------------------------------------
-- welfare files (converted from cp1255)
-- ---------------------------------------------------------------------------------------

create or replace table raw.welfare_files as
select
    file_locality(filename) as locality_code,
    file_snapshot(filename) as snapshot_date,
    cell("מספר תיק") as file_number,
    id9("ת.ז. ראש משפחה") as head_key,
    whole("מספר נפשות") as persons,
    cell("שכונה") as neighborhood,
    day("תאריך פתיחה", '%d/%m/%Y') as opened_on,
    day("תאריך סגירה", '%d/%m/%Y') as closed_on,
    base_name(filename) as _file_name
from read_csv(getvariable('converted') || '/welfare/*.csv', all_varchar = true, filename = true, files_to_sniff = 1, quote = '"', escape = '"')
where id_ok(id9("ת.ז. ראש משפחה"))
    and cell("מספר תיק") is not null
    and whole("מספר נפשות") is not null
    and day("תאריך פתיחה", '%d/%m/%Y') is not null
    and not bad_day("תאריך סגירה", '%d/%m/%Y');

-- ---------------------------------------------------------------------------------------
-- school achievement (spreadsheets, converted: header row only, rows up to the first blank)
-- ---------------------------------------------------------------------------------------

create or replace table raw.school_achievement as
with typed as (
    select
        file_locality(filename) as locality_code,
        file_period(filename) as period,
        whole("סמל מוסד") as school_code,
        cell("שם מוסד") as school_name,
        id9("מספר זהות תלמיד") as pupil_key,
        cell("שכבה") as grade,
        cell("מין") as sex,
        flag("זכאות לבגרות", ['כן'], ['לא']) as bagrut_eligible,
        flag("עמידה בדרישות סף של האוניברסיטאות", ['כן'], ['לא']) as university_threshold,
        whole("יחידות לימוד מתמטיקה") as math_units,
        flag("נשר", ['כן'], ['לא']) as dropped_out,
        (cell("זכאות לבגרות") is not null and flag("זכאות לבגרות", ['כן'], ['לא']) is null)
        or (
            cell("עמידה בדרישות סף של האוניברסיטאות") is not null
            and flag("עמידה בדרישות סף של האוניברסיטאות", ['כן'], ['לא']) is null
        )
        or (
            cell("יחידות לימוד מתמטיקה") is not null
            and coalesce(whole("יחידות לימוד מתמטיקה") not in (3, 4, 5), true)
        ) as bad_optional,
        base_name(filename) as _file_name
    from read_csv(getvariable('converted') || '/schools/*.csv', all_varchar = true, filename = true, files_to_sniff = 1, quote = '"', escape = '"')
)
select * exclude (bad_optional)
from typed
where id_ok(pupil_key)
    and school_code is not null
    and school_name is not null
    and grade in ('ז', 'ח', 'ט', 'י', 'יא', 'יב')
    and sex in ('ז', 'נ')
    and dropped_out is not null
    and not bad_optional;

-- ---------------------------------------------------------------------------------------
-- youth movements: five layouts, one table
-- ---------------------------------------------------------------------------------------

create or replace table raw.youth_members as
with

tzofim as (
    select
        filename,
        'tzofim' as movement,
        id9(id_number) as member_key,
        flag(status, ['active'], ['inactive', 'left', 'suspended']) as is_active,
        bad_day(birth_date, '%Y-%m-%d') as bad_optional
    from read_csv(getvariable('converted') || '/youth/tzofim_*.csv', all_varchar = true, filename = true, files_to_sniff = 1, quote = '"', escape = '"')
),

ezra as (
    select
        filename,
        'ezra' as movement,
        id9("תז") as member_key,
        true as is_active,
        cell("גיל") is not null and coalesce(whole("גיל") not between 0 and 120, true) as bad_optional
    from read_csv(getvariable('converted') || '/youth/ezra_*.csv', all_varchar = true, filename = true, files_to_sniff = 1, quote = '"', escape = '"')
),

hanoar_haoved as (
    select
        filename,
        'hanoar_haoved' as movement,
        id9("מספר תעודת זהות") as member_key,
        flag("סטטוס", ['פעיל'], ['לא פעיל', 'עזב', 'הקפאה']) as is_active,
        cell("שנת לידה") is not null and coalesce(whole("שנת לידה") not between 1900 and 2100, true)
            as bad_optional
    from read_csv(getvariable('converted') || '/youth/hanoar_haoved_*.csv', all_varchar = true, filename = true, files_to_sniff = 1, quote = '"', escape = '"')
),

bnei_akiva as (
    select
        filename,
        'bnei_akiva' as movement,
        id9("ת.ז.") as member_key,
        flag("פעיל", ['כן'], ['לא']) as is_active,
        bad_day("תאריך לידה", '%d/%m/%Y') as bad_optional
    from read_csv(getvariable('converted') || '/youth/bnei_akiva_*.csv', all_varchar = true, filename = true, files_to_sniff = 1, quote = '"', escape = '"')
),

krembo as (
    select
        filename,
        'krembo' as movement,
        id9("ID") as member_key,
        flag("Active", ['true', '1'], ['false', '0']) as is_active,
        bad_day("DOB", '%m/%d/%Y') as bad_optional
    from read_csv(getvariable('converted') || '/youth/krembo_*.csv', all_varchar = true, filename = true, files_to_sniff = 1, quote = '"', escape = '"')
),

rosters as (
    select * from tzofim
    union all by name
    select * from ezra
    union all by name
    select * from hanoar_haoved
    union all by name
    select * from bnei_akiva
    union all by name
    select * from krembo
)

select
    file_locality(filename) as locality_code,
    file_period(filename) as period,
    movement,
    member_key,
    is_active,
    base_name(filename) as _file_name
from rosters
where id_ok(member_key)
    and is_active is not null
    and not bad_optional;

-- ---------------------------------------------------------------------------------------
-- surveys (UTF-8: linked, read in place)
-- ---------------------------------------------------------------------------------------

create or replace temp macro moment(x) as
    coalesce(try_strptime(cell(x), '%Y-%m-%d %H:%M:%S'), try_strptime(cell(x), '%d/%m/%Y %I:%M:%S %p'));

create or replace temp macro answer(x) as whole(x);

create or replace temp macro bad_answer(x) as
    cell(x) is not null and coalesce(whole(x) not in (1, 2, 3, 4, 5, -99), true);

create or replace table raw.survey_responses as
select
    file_locality(filename) as locality_code,
    file_period(filename) as period,
    cell("Response ID") as response_id,
    moment("Time Started") as started_at,
    moment("Date Submitted") as submitted_at,
    cell("Status") as status,
    cell("Language") as language,
    try_cast(cell(weight) as double) as weight,
    cell("שכונה") as neighborhood,
    cell("קבוצת גיל") as age_group,
    cell("מין") as gender,
    cell("מוצא") as origin,
    answer(q_trust) as q_trust,
    answer(q_future) as q_future,
    answer(q_stay) as q_stay,
    base_name(filename) as _file_name
from read_csv(getvariable('converted') || '/surveys/survey_*.csv', all_varchar = true, filename = true, files_to_sniff = 1, quote = '"', escape = '"')
where cell("Response ID") is not null
    and cell("Status") in ('Complete', 'Partial')
    and try_cast(cell(weight) as double) >= 0
    and not (cell("Time Started") is not null and moment("Time Started") is null)
    and not (cell("Date Submitted") is not null and moment("Date Submitted") is null)
    and coalesce(cell("מין") in ('גבר', 'אישה'), true)
    and coalesce(cell("מוצא") in ('אתיופיה', 'אחר'), true)
    and not bad_answer(q_trust)
    and not bad_answer(q_future)
    and not bad_answer(q_stay);

-- ---------------------------------------------------------------------------------------
-- early childhood (UTF-8 with a BOM, semicolons, a closing total line: linked, read in place)
-- ---------------------------------------------------------------------------------------

create or replace table raw.early_childhood_enrolments as
select
    file_locality(filename) as locality_code,
    file_period(filename) as period,
    id9("מספר זהות ילד") as child_key,
    day("תאריך לידה", '%d/%m/%Y') as birth_date,
    cell("סוג מסגרת") as framework_type,
    cell("סמל מסגרת") as framework_code,
    cell("שם מסגרת") as framework_name,
    day("תאריך רישום", '%d/%m/%Y') as registered_on,
    day("תאריך עזיבה", '%d/%m/%Y') as left_on,
    base_name(filename) as _file_name
from read_csv(
    getvariable('converted') || '/early_childhood/early_childhood_*.csv',
    all_varchar = true, filename = true, files_to_sniff = 1, quote = '"', escape = '"', delim = ';', header = true
)
where coalesce(cell("מספר זהות ילד"), '') != 'סה"כ ילדים'
    and id_ok(id9("מספר זהות ילד"))
    and cell("סוג מסגרת") in ('מעון יום', 'גן טרום טרום חובה', 'גן טרום חובה', 'גן חובה')
    and cell("סמל מסגרת") is not null
    and day("תאריך רישום", '%d/%m/%Y') is not null
    and not bad_day("תאריך לידה", '%d/%m/%Y')
    and not bad_day("תאריך עזיבה", '%d/%m/%Y');
