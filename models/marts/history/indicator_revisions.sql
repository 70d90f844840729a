{#- Each published value that changed between two consecutive publishes, and why.

    A revision is read off the snapshot: at a publish P, the version of a key closed at P
    (previous) against the version opened at P (new); a key with only a new version appeared,
    one with only a closed version disappeared. Publishes come from ops.publications; the
    first one that history records has no revisions (nothing to compare with). Values are
    compared rounded below any published precision, as the snapshot compares them.

    The cause: the files that entered the computation at P (a loaded verdict opened) or left
    it (a loaded verdict closed: superseded by a corrected file, or read again), of the
    sources the indicator is computed from (history.indicator_inputs), of the value's
    locality (or of no locality), preferring files of the value's period when there are
    any; and "definition changed" when the dbt project's fingerprint differs from the
    previous publish's. -#}
{{ config(materialized='table') }}

with

value_versions as (

    select * from {{ ref('indicator_values_snapshot') }}

),

file_versions as (

    select * from {{ ref('files_snapshot') }}

),

inputs as (

    select * from {{ ref('indicator_inputs') }}

),

publications as (

    select * from {{ source('ops', 'publications') }}

),

recorded_publications as (

    select
        run_id,
        published_at,
        lag(run_id) over (order by published_at) as previous_run_id,
        coalesce(
            definition_fingerprint <> lag(definition_fingerprint) over (order by published_at), false
        ) as is_definition_changed

    from publications
    where published_at >= (select min(value_versions.valid_from) from value_versions)

),

version_changes as (

    select
        coalesce(new_version.indicator_id, old_version.indicator_id) as indicator_id,
        coalesce(new_version.period, old_version.period) as period,
        coalesce(new_version.locality_code, old_version.locality_code) as locality_code,
        coalesce(new_version.dimension, old_version.dimension) as dimension,
        coalesce(new_version.dimension_value, old_version.dimension_value) as dimension_value,
        coalesce(new_version.unit, old_version.unit) as unit,
        old_version.value as previous_value,
        new_version.value as new_value,
        coalesce(new_version.valid_from, old_version.valid_to) as revised_at

    from value_versions as new_version
    full outer join value_versions as old_version
        on
        new_version.indicator_id = old_version.indicator_id
        and new_version.period = old_version.period
        and new_version.locality_code = old_version.locality_code
        and new_version.dimension = old_version.dimension
        and new_version.dimension_value = old_version.dimension_value
        and new_version.valid_from = old_version.valid_to
    -- a version still current has no successor: not a change
    where new_version.indicator_id is not null or old_version.valid_to is not null

),

revisions as (

    select
        version_changes.indicator_id,
        version_changes.period,
        version_changes.locality_code,
        version_changes.dimension,
        version_changes.dimension_value,
        version_changes.unit,
        version_changes.previous_value,
        version_changes.new_value,
        recorded_publications.previous_run_id,
        recorded_publications.run_id,
        version_changes.revised_at,
        recorded_publications.is_definition_changed,
        case
            when version_changes.previous_value is null then 'appeared'
            when version_changes.new_value is null then 'disappeared'
            else 'changed'
        end as revision_kind

    from version_changes
    inner join recorded_publications
        on version_changes.revised_at = recorded_publications.published_at
    where
        recorded_publications.previous_run_id is not null
        and round(version_changes.previous_value, 6) is distinct from round(version_changes.new_value, 6)

),

file_changes as (

    select
        file_id,
        source,
        file_name,
        locality_code,
        period,
        valid_from as changed_at,
        'entered' as file_change
    from file_versions
    where status = 'loaded'

    union all

    select
        file_id,
        source,
        file_name,
        locality_code,
        period,
        valid_to as changed_at,
        'left' as file_change
    from file_versions
    where status = 'loaded' and valid_to is not null

),

revision_files as (

    select
        revisions.indicator_id,
        revisions.period,
        revisions.locality_code,
        revisions.dimension,
        revisions.dimension_value,
        revisions.revised_at,
        file_changes.file_id,
        file_changes.source || '/' || file_changes.file_name || ' (' || file_changes.file_change || ')'
            as file_description

    from revisions
    inner join inputs
        on revisions.indicator_id = inputs.indicator_id
    inner join file_changes
        on
        inputs.source_folder = file_changes.source
        and revisions.revised_at = file_changes.changed_at
        and (file_changes.locality_code is null or revisions.locality_code = file_changes.locality_code)
    -- files of the value's period (or of no period) when there are any, else all of them
    qualify
        coalesce(file_changes.period = revisions.period, true)
        or not bool_or(coalesce(file_changes.period = revisions.period, true)) over (
            partition by
                revisions.indicator_id,
                revisions.period,
                revisions.locality_code,
                revisions.dimension,
                revisions.dimension_value,
                revisions.revised_at
        )

),

causes as (

    select
        indicator_id,
        period,
        locality_code,
        dimension,
        dimension_value,
        revised_at,
        list(distinct file_id order by file_id) as cause_file_ids,
        string_agg(distinct file_description, '; ' order by file_description) as cause_files

    from revision_files
    group by indicator_id, period, locality_code, dimension, dimension_value, revised_at

),

final as (

    select
        revisions.indicator_id,
        revisions.period,
        revisions.locality_code,
        revisions.dimension,
        revisions.dimension_value,
        revisions.unit,
        revisions.revision_kind,
        revisions.previous_value,
        revisions.new_value,
        revisions.previous_run_id,
        revisions.run_id,
        revisions.revised_at,
        case
            when causes.cause_files is not null and revisions.is_definition_changed
                then 'files changed; definition changed'
            when causes.cause_files is not null then 'files changed'
            when revisions.is_definition_changed then 'definition changed'
            else 'no file or definition change recorded'
        end as cause,
        coalesce(causes.cause_file_ids, []) as cause_file_ids,
        causes.cause_files,
        revisions.is_definition_changed

    from revisions
    left join causes
        on
        revisions.indicator_id = causes.indicator_id
        and revisions.period = causes.period
        and revisions.locality_code = causes.locality_code
        and revisions.dimension = causes.dimension
        and revisions.dimension_value = causes.dimension_value
        and revisions.revised_at = causes.revised_at

)

select * from final
