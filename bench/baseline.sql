-- bench/baseline.sql -- the plain-DuckDB baseline of the scale benchmark (issue 9).
--
-- One hand-written script that computes the 13 indicators of docs/INDICATORS.md
-- straight from the raw.* tables into baseline.indicator_values (same columns and the same
-- numbers as marts.indicator_values), so that the dbt pipeline's overhead is a measured
-- ratio. It is meant to be the fastest reasonable plain SQL: every raw table is scanned
-- once or twice, each unit row is aggregated once with grouping sets (one grouping set per
-- dimension) instead of being copied once per dimension, and only the register (one row
-- per person) and the small calendar are materialized, because most indicators reuse them;
-- the residents on 1 January are re-joined by each of their three users, which is cheaper
-- than materializing millions of person-years.
-- Everything is grouped by locality_code: any number of localities, nothing sample-specific.
--
-- Rules kept identical to the pipeline (models/):
--   * text cleaning: trim + collapse inner whitespace, empty -> null (macro clean_text);
--   * register and welfare: only the latest snapshot of each locality; a register row
--     repeated exactly counts once, and a person listed twice with different data keeps
--     the later row (file name, then row number, of the first occurrence of each row);
--   * resident on day D: coalesce(arrival_date, birth_date) <= D and no departure on or
--     before D; age in year Y = Y - year of birth;
--   * calendar of register-based indicators: each year from the first to the last period
--     present in schools, youth or surveys of the locality;
--       - residents on 1 January exist when the register snapshot is on or after 1 January,
--       - dem_net_migration needs the register snapshot after 31 December,
--       - wel_families_known needs the welfare snapshot after 31 December,
--       - yth_movement_participation needs at least one roster of the year,
--       - the early-childhood indicators need that year's early-childhood file;
--   * pupils and youth members are counted once per cell (count distinct / one row per
--     person), so exact repeats of those rows need no separate step; survey responses are
--     summed, so their exact repeats are removed first.

create schema if not exists baseline;

-- the pipeline's clean_text (macros/indicator_helpers.sql): trim, collapse inner
-- whitespace, empty -> null
create or replace temp macro clean_text(x) as
    nullif(trim(regexp_replace(x, '\s+', ' ', 'g')), '');

create or replace table baseline.indicator_values as

with

-- ---------------------------------------------------------------------------------------
-- the register: latest snapshot, one row per person
-- ---------------------------------------------------------------------------------------

register_snapshots as (

    select locality_code, max(snapshot_date) as snapshot_date
    from raw.residents
    group by locality_code

),

register_rows as (

    -- exact repeats count once; each distinct row remembers where it was first seen
    select
        r.locality_code,
        r.person_key,
        r.birth_date,
        r.sex,
        r.neighborhood,
        r.birth_country,
        r.father_birth_country,
        r.household_number,
        r.arrival_date,
        r.departure_date,
        min((r._file_name, r._row_number)) as first_seen
    from raw.residents as r
    semi join register_snapshots as s
        on r.locality_code = s.locality_code
        and r.snapshot_date = s.snapshot_date
    group by all

),

register_latest_row as (

    -- a person listed twice with different data: the later row wins
    select
        locality_code,
        person_key,
        arg_max(
            {
                'birth_date': birth_date,
                'sex': sex,
                'neighborhood': neighborhood,
                'birth_country': birth_country,
                'father_birth_country': father_birth_country,
                'household_number': household_number,
                'arrival_date': arrival_date,
                'departure_date': departure_date
            },
            first_seen
        ) as p
    from register_rows
    group by locality_code, person_key

),

persons as materialized (

    select
        locality_code,
        person_key,
        year(p.birth_date) as birth_year,
        case trim(p.sex) when 'ז' then 'male' when 'נ' then 'female' end as gender,
        clean_text(p.neighborhood) as neighborhood,
        clean_text(p.household_number) as household_number,
        case
            when clean_text(p.birth_country) = 'אתיופיה'
                or clean_text(p.father_birth_country) = 'אתיופיה'
                then 'ethiopian_origin'
            else 'other'
        end as community,
        p.arrival_date,
        p.departure_date,
        -- resident from arrival, or from birth when born here / here before the register
        coalesce(p.arrival_date, p.birth_date) as resident_from
    from register_latest_row

),

-- ---------------------------------------------------------------------------------------
-- the years each locality reports on
-- ---------------------------------------------------------------------------------------

youth_periods as (

    select distinct locality_code, period
    from raw.youth_members

),

early_childhood_periods as (

    select distinct locality_code, period
    from raw.early_childhood_enrolments

),

source_periods as (

    select distinct locality_code, period from raw.school_achievement
    union
    select locality_code, period from youth_periods
    union
    select distinct locality_code, period from raw.survey_responses
    union
    select locality_code, period from early_childhood_periods

),

calendar as (

    select
        locality_code,
        cast(unnest(generate_series(min(period), max(period))) as integer) as period
    from source_periods
    group by locality_code

),

welfare_snapshots as (

    select locality_code, max(snapshot_date) as snapshot_date
    from raw.welfare_files
    group by locality_code

),

years as materialized (

    -- only the years on whose 1 January the register is known (snapshot on or after it)
    select
        c.locality_code,
        c.period,
        make_date(c.period, 1, 1) as first_day,
        make_date(c.period, 12, 31) as last_day,
        y.period is not null as has_youth_roster,
        e.period is not null as has_early_childhood_file,
        r.snapshot_date > make_date(c.period, 12, 31) as is_register_year_complete,
        coalesce(w.snapshot_date > make_date(c.period, 12, 31), false) as is_welfare_year_complete
    from calendar as c
    inner join register_snapshots as r
        on c.locality_code = r.locality_code
    left join welfare_snapshots as w
        on c.locality_code = w.locality_code
    left join youth_periods as y
        on c.locality_code = y.locality_code
        and c.period = y.period
    left join early_childhood_periods as e
        on c.locality_code = e.locality_code
        and c.period = e.period
    where r.snapshot_date >= make_date(c.period, 1, 1)

),

-- ---------------------------------------------------------------------------------------
-- residents on 1 January (youth, welfare and migration denominators)
-- ---------------------------------------------------------------------------------------

residents_on_jan1 as not materialized (

    select
        y.locality_code,
        y.period,
        y.has_youth_roster,
        y.has_early_childhood_file,
        y.is_welfare_year_complete,
        y.is_register_year_complete,
        p.person_key,
        y.period - p.birth_year as age,
        p.gender,
        p.community,
        coalesce(p.neighborhood, 'unknown') as neighborhood,
        p.household_number
    from years as y
    inner join persons as p
        on y.locality_code = p.locality_code
        and p.resident_from <= y.first_day
        and (p.departure_date is null or p.departure_date > y.first_day)
    where y.has_youth_roster
        or y.has_early_childhood_file
        or y.is_welfare_year_complete
        or y.is_register_year_complete

),

-- ---------------------------------------------------------------------------------------
-- schools: grade-12 indicators (+ gap) and dropout
-- ---------------------------------------------------------------------------------------

grade_12_pupils as (

    -- community and neighborhood from the register of the school's locality, whatever the
    -- dates of residence; 'unknown' for a pupil not in it
    select
        s.locality_code,
        s.period,
        cast(s.school_code as varchar) as school_code,
        case trim(s.sex) when 'ז' then 'male' when 'נ' then 'female' end as gender,
        coalesce(p.community, 'unknown') as community,
        coalesce(p.neighborhood, 'unknown') as neighborhood,
        s.pupil_key,
        coalesce(s.bagrut_eligible, false) as is_eligible,
        coalesce(s.university_threshold, false) as meets_threshold,
        coalesce(s.math_units = 5, false) as takes_math_5
    from raw.school_achievement as s
    left join persons as p
        on s.locality_code = p.locality_code
        and s.pupil_key = p.person_key
    where regexp_replace(s.grade, '[\s''"׳״]', '', 'g') = 'יב'

),

grade_12_cells as materialized (

    select
        locality_code,
        period,
        case
            when grouping(school_code) = 0 then 'school'
            when grouping(gender) = 0 then 'gender'
            when grouping(community) = 0 then 'community'
            when grouping(neighborhood) = 0 then 'neighborhood'
            else 'total'
        end as dimension,
        case
            when grouping(school_code) = 0 then school_code
            when grouping(gender) = 0 then gender
            when grouping(community) = 0 then community
            when grouping(neighborhood) = 0 then neighborhood
            else 'all'
        end as dimension_value,
        count(distinct pupil_key) filter (where is_eligible) as eligible,
        count(distinct pupil_key) filter (where meets_threshold) as university,
        count(distinct pupil_key) filter (where takes_math_5) as math_5,
        count(distinct pupil_key) as pupils
    from grade_12_pupils
    group by grouping sets (
        (locality_code, period),
        (locality_code, period, school_code),
        (locality_code, period, gender),
        (locality_code, period, community),
        (locality_code, period, neighborhood)
    )

),

dropout_cells as (

    select
        locality_code,
        period,
        count(distinct pupil_key) filter (where dropped_out) as dropped_out,
        count(distinct pupil_key) as pupils
    from raw.school_achievement
    where regexp_replace(grade, '[\s''"׳״]', '', 'g') in ('ז', 'ח', 'ט', 'י', 'יא', 'יב')
    group by locality_code, period

),

bagrut_gap as (

    -- 'other' rate minus 'ethiopian_origin' rate, only when both groups have pupils
    select
        locality_code,
        period,
        max(100.0 * eligible / pupils) filter (where dimension_value = 'other')
            - max(100.0 * eligible / pupils) filter (where dimension_value = 'ethiopian_origin')
            as gap
    from grade_12_cells
    where dimension = 'community'
    group by locality_code, period

),

-- ---------------------------------------------------------------------------------------
-- youth movements
-- ---------------------------------------------------------------------------------------

active_members as (

    -- a child active in two movements is one active member
    select distinct locality_code, period, member_key
    from raw.youth_members
    where is_active

),

youth_cells as (

    -- residents on 1 January aged 9-18 in the year; one row per person, so count(*)
    select
        r.locality_code,
        r.period,
        case
            when grouping(r.gender) = 0 then 'gender'
            when grouping(r.community) = 0 then 'community'
            when grouping(r.neighborhood) = 0 then 'neighborhood'
            else 'total'
        end as dimension,
        case
            when grouping(r.gender) = 0 then r.gender
            when grouping(r.community) = 0 then r.community
            when grouping(r.neighborhood) = 0 then r.neighborhood
            else 'all'
        end as dimension_value,
        count(a.member_key) as active,
        count(*) as youth
    from residents_on_jan1 as r
    left join active_members as a
        on r.locality_code = a.locality_code
        and r.period = a.period
        and r.person_key = a.member_key
    where r.has_youth_roster
        and r.age between 9 and 18
    group by grouping sets (
        (r.locality_code, r.period),
        (r.locality_code, r.period, r.gender),
        (r.locality_code, r.period, r.community),
        (r.locality_code, r.period, r.neighborhood)
    )

),

-- ---------------------------------------------------------------------------------------
-- early childhood: enrolled on 1 January
-- ---------------------------------------------------------------------------------------

enrolled_on_jan1 as (

    -- a row of the year's file registered on or before the day and not left on or before
    -- it; a child enrolled twice counts once
    select
        locality_code,
        period,
        child_key,
        bool_or(clean_text(framework_type) = 'מעון יום') as in_daycare,
        bool_or(clean_text(framework_type) in ('גן טרום טרום חובה', 'גן טרום חובה')) as in_preschool
    from raw.early_childhood_enrolments
    where registered_on <= make_date(period, 1, 1)
        and (left_on is null or left_on > make_date(period, 1, 1))
    group by locality_code, period, child_key

),

early_childhood_cells as (

    -- residents on 1 January aged 1-2 (daycare) or 3-4 (preschool) in the year
    select
        r.locality_code,
        r.period,
        case when r.age <= 2 then 'ec_daycare_enrollment' else 'ec_preschool_enrollment' end as indicator_id,
        case
            when grouping(r.community) = 0 then 'community'
            when grouping(r.neighborhood) = 0 then 'neighborhood'
            else 'total'
        end as dimension,
        case
            when grouping(r.community) = 0 then r.community
            when grouping(r.neighborhood) = 0 then r.neighborhood
            else 'all'
        end as dimension_value,
        count(*) filter (where case when r.age <= 2 then e.in_daycare else e.in_preschool end) as enrolled,
        count(*) as children
    from residents_on_jan1 as r
    left join enrolled_on_jan1 as e
        on r.locality_code = e.locality_code
        and r.period = e.period
        and r.person_key = e.child_key
    where r.has_early_childhood_file
        and r.age between 1 and 4
    group by grouping sets (
        (r.locality_code, r.period, indicator_id),
        (r.locality_code, r.period, indicator_id, r.community),
        (r.locality_code, r.period, indicator_id, r.neighborhood)
    )

),

-- ---------------------------------------------------------------------------------------
-- welfare: households known to the welfare department
-- ---------------------------------------------------------------------------------------

household_neighborhoods as (

    select locality_code, period, household_number, neighborhood, count(*) as members
    from residents_on_jan1
    where is_welfare_year_complete
        and household_number is not null
    group by locality_code, period, household_number, neighborhood

),

households as (

    -- the neighborhood of most of the household's residents (alphabetically first on a tie)
    select
        locality_code,
        period,
        household_number,
        first(neighborhood order by members desc, neighborhood) as neighborhood
    from household_neighborhoods
    group by locality_code, period, household_number

),

known_households as (

    -- a file open at some time in the year reaches the household of its head in the
    -- register (whether or not the head was resident that day)
    select distinct y.locality_code, y.period, p.household_number
    from raw.welfare_files as w
    semi join welfare_snapshots as s
        on w.locality_code = s.locality_code
        and w.snapshot_date = s.snapshot_date
    inner join persons as p
        on w.locality_code = p.locality_code
        and w.head_key = p.person_key
    inner join years as y
        on w.locality_code = y.locality_code
        and w.opened_on <= y.last_day
        and (w.closed_on is null or w.closed_on >= y.first_day)
    where y.is_welfare_year_complete
        and p.household_number is not null

),

welfare_cells as (

    select
        h.locality_code,
        h.period,
        case when grouping(h.neighborhood) = 0 then 'neighborhood' else 'total' end as dimension,
        case when grouping(h.neighborhood) = 0 then h.neighborhood else 'all' end as dimension_value,
        count(k.household_number) as known,
        count(*) as households
    from households as h
    left join known_households as k
        on h.locality_code = k.locality_code
        and h.period = k.period
        and h.household_number = k.household_number
    group by grouping sets (
        (h.locality_code, h.period),
        (h.locality_code, h.period, h.neighborhood)
    )

),

-- ---------------------------------------------------------------------------------------
-- demography: net migration
-- ---------------------------------------------------------------------------------------

population as (

    select locality_code, period, count(*) as residents
    from residents_on_jan1
    where is_register_year_complete
    group by locality_code, period

),

arrivals as (

    -- dated moves in (births are not arrivals)
    select locality_code, year(arrival_date) as period, count(*) as arrivals
    from persons
    where arrival_date is not null
    group by all

),

departures as (

    select locality_code, year(departure_date) as period, count(*) as departures
    from persons
    where departure_date is not null
    group by all

),

migration as (

    select
        pop.locality_code,
        pop.period,
        coalesce(a.arrivals, 0) - coalesce(d.departures, 0) as net_migration,
        pop.residents
    from population as pop
    left join arrivals as a
        on pop.locality_code = a.locality_code
        and pop.period = a.period
    left join departures as d
        on pop.locality_code = d.locality_code
        and pop.period = d.period

),

-- ---------------------------------------------------------------------------------------
-- surveys
-- ---------------------------------------------------------------------------------------

complete_responses as (

    -- a response repeated exactly counts once (every column but the lineage compared)
    select distinct
        locality_code, period, response_id, started_at, submitted_at, status, language,
        weight, neighborhood, age_group, gender, origin, q_trust, q_future, q_stay
    from raw.survey_responses
    where status = 'Complete'

),

answers as (

    select
        locality_code,
        period,
        case when trim(origin) = 'אתיופיה' then 'ethiopian_origin' else 'other' end as community,
        coalesce(clean_text(neighborhood), 'unknown') as neighborhood,
        coalesce(clean_text(age_group), 'unknown') as age_group,
        -- exact decimals (the vendor sends 4): sums do not depend on the order of addition
        cast(weight as decimal(18, 6)) as weight,
        q_trust,
        q_future,
        q_stay
    from complete_responses

),

survey_cells as materialized (

    -- per question: weight of answers 1-5 (denominator) and of answers 4-5 (numerator);
    -- -99 (don't know) and skipped answers are in neither
    select
        locality_code,
        period,
        case
            when grouping(community) = 0 then 'community'
            when grouping(neighborhood) = 0 then 'neighborhood'
            when grouping(age_group) = 0 then 'age_group'
            else 'total'
        end as dimension,
        case
            when grouping(community) = 0 then community
            when grouping(neighborhood) = 0 then neighborhood
            when grouping(age_group) = 0 then age_group
            else 'all'
        end as dimension_value,
        sum(weight) filter (where q_trust between 4 and 5) as trust_agree,
        sum(weight) filter (where q_trust between 1 and 5) as trust_answered,
        sum(weight) filter (where q_future between 4 and 5) as future_agree,
        sum(weight) filter (where q_future between 1 and 5) as future_answered,
        sum(weight) filter (where q_stay between 4 and 5) as stay_agree,
        sum(weight) filter (where q_stay between 1 and 5) as stay_answered
    from answers
    group by grouping sets (
        (locality_code, period),
        (locality_code, period, community),
        (locality_code, period, neighborhood),
        (locality_code, period, age_group)
    )

),

-- ---------------------------------------------------------------------------------------
-- the long format
-- ---------------------------------------------------------------------------------------

indicator_rows as (

    select 'edu_bagrut_eligibility' as indicator_id, locality_code, period, dimension, dimension_value,
        eligible as numerator, pupils as denominator, 100.0 * eligible / pupils as value
    from grade_12_cells
    union all
    select 'edu_bagrut_university', locality_code, period, dimension, dimension_value,
        university, pupils, 100.0 * university / pupils
    from grade_12_cells
    union all
    select 'edu_math_5_units', locality_code, period, dimension, dimension_value,
        math_5, pupils, 100.0 * math_5 / pupils
    from grade_12_cells
    union all
    select 'edu_dropout', locality_code, period, 'total', 'all',
        dropped_out, pupils, 100.0 * dropped_out / pupils
    from dropout_cells
    union all
    select 'edu_bagrut_gap_ethiopian', locality_code, period, 'total', 'all',
        null, null, gap
    from bagrut_gap
    where gap is not null
    union all
    select 'yth_movement_participation', locality_code, period, dimension, dimension_value,
        active, youth, 100.0 * active / youth
    from youth_cells
    union all
    select 'wel_families_known', locality_code, period, dimension, dimension_value,
        known, households, 100.0 * known / households
    from welfare_cells
    union all
    select 'dem_net_migration', locality_code, period, 'total', 'all',
        net_migration, residents, 1000.0 * net_migration / residents
    from migration
    where residents > 0
    union all
    select 'srv_trust_municipality', locality_code, period, dimension, dimension_value,
        coalesce(trust_agree, 0), trust_answered, 100.0 * coalesce(trust_agree, 0) / nullif(trust_answered, 0)
    from survey_cells
    where trust_answered is not null
    union all
    select 'srv_optimism', locality_code, period, dimension, dimension_value,
        coalesce(future_agree, 0), future_answered, 100.0 * coalesce(future_agree, 0) / nullif(future_answered, 0)
    from survey_cells
    where future_answered is not null
    union all
    select 'srv_intent_to_stay', locality_code, period, dimension, dimension_value,
        coalesce(stay_agree, 0), stay_answered, 100.0 * coalesce(stay_agree, 0) / nullif(stay_answered, 0)
    from survey_cells
    where stay_answered is not null
    union all
    select indicator_id, locality_code, period, dimension, dimension_value,
        enrolled, children, 100.0 * enrolled / children
    from early_childhood_cells

)

select
    cast(indicator_id as varchar) as indicator_id,
    cast(period as integer) as period,
    cast(locality_code as integer) as locality_code,
    cast(dimension as varchar) as dimension,
    cast(dimension_value as varchar) as dimension_value,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator,
    cast(value as double) as value
from indicator_rows;
