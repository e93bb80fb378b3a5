//! Diesel's view of the tables created by `migrations/`. Written by hand (the diesel CLI would need
//! libpq); the `schema_matches_migrations` integration test loads every column of every table so a
//! drift between this file and the migrations fails CI.

diesel::table! {
    workspaces (id) {
        id -> Uuid,
        name -> Text,
        assignments_enabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        time_zone -> Text,
    }
}

diesel::table! {
    users (workspace_id, id) {
        workspace_id -> Uuid,
        id -> Uuid,
        first_name -> Text,
        last_name -> Text,
        email -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    channels (workspace_id, id) {
        workspace_id -> Uuid,
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    channel_members (workspace_id, channel_id, user_id) {
        workspace_id -> Uuid,
        channel_id -> Uuid,
        user_id -> Uuid,
        admin -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    tasks (workspace_id, id) {
        workspace_id -> Uuid,
        id -> Uuid,
        number -> Int8,
        title -> Text,
        body_format -> Text,
        body_plain -> Text,
        body_html -> Text,
        body_delta -> Text,
        kind -> Text,
        priority -> Text,
        status -> Text,
        due_date -> Nullable<Date>,
        due_at -> Nullable<Timestamptz>,
        tags -> Array<Text>,
        external_id -> Nullable<Text>,
        correlation_id -> Nullable<Text>,
        sequence_id -> Nullable<Uuid>,
        completion_policy -> Text,
        distributed -> Bool,
        created_by_type -> Text,
        created_by_id -> Text,
        outcome_disposition -> Nullable<Text>,
        outcome_note -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        first_started_at -> Nullable<Timestamptz>,
        first_terminated_at -> Nullable<Timestamptz>,
        completed_at -> Nullable<Timestamptz>,
        skipped_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        reopened_at -> Nullable<Timestamptz>,
        reopen_reason -> Nullable<Text>,
        version -> Int8,
        completed_by_policy -> Bool,
        snoozed_until -> Nullable<Timestamptz>,
        snooze_reason -> Nullable<Text>,
        follow_up_at -> Nullable<Timestamptz>,
        due_key -> Nullable<Timestamptz>,
        source_occurred_at -> Nullable<Timestamptz>,
        sla_policy_id -> Nullable<Int8>,
        sla_policy -> Nullable<Text>,
        sla_started_at -> Nullable<Timestamptz>,
        sla_response_due_at -> Nullable<Timestamptz>,
        sla_response_met_at -> Nullable<Timestamptz>,
        sla_response_left -> Nullable<Interval>,
        sla_resolution_due_at -> Nullable<Timestamptz>,
        sla_resolution_met_at -> Nullable<Timestamptz>,
        sla_resolution_left -> Nullable<Interval>,
        sla_paused_since -> Nullable<Timestamptz>,
        sla_breached_at -> Nullable<Timestamptz>,
        template_id -> Nullable<Uuid>,
        template_name -> Nullable<Text>,
        occurrence_index -> Nullable<Int4>,
        scheduled_for -> Nullable<Timestamptz>,
        series_previous_id -> Nullable<Uuid>,
        series_next_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    task_templates (workspace_id, id) {
        workspace_id -> Uuid,
        id -> Uuid,
        name -> Text,
        title -> Text,
        body_format -> Text,
        body_plain -> Text,
        body_html -> Text,
        body_delta -> Text,
        kind -> Text,
        priority -> Text,
        tags -> Array<Text>,
        link_objects -> Array<Text>,
        link_record_ids -> Array<Text>,
        correlation_id -> Nullable<Text>,
        completion_policy -> Nullable<Text>,
        recipient_user_ids -> Array<Uuid>,
        recipient_channel_ids -> Array<Uuid>,
        due_after_secs -> Nullable<Int8>,
        reminders -> Jsonb,
        created_by_type -> Text,
        created_by_id -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
        rrule -> Nullable<Text>,
        time_zone -> Nullable<Text>,
        starts_local -> Nullable<Timestamp>,
        skipped_dates -> Array<Date>,
        mode -> Nullable<Text>,
        catch_up -> Nullable<Text>,
        lead_secs -> Int8,
        due_time -> Nullable<Time>,
        state -> Nullable<Text>,
        state_reason -> Nullable<Text>,
        next_at -> Nullable<Timestamptz>,
        wake_at -> Nullable<Timestamptz>,
        last_task_id -> Nullable<Uuid>,
        last_index -> Int4,
        last_scheduled_for -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    task_template_releases (workspace_id, template_id, occurrence_index) {
        workspace_id -> Uuid,
        template_id -> Uuid,
        occurrence_index -> Int4,
        released_at -> Timestamptz,
        handled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sla_policies (workspace_id, id) {
        workspace_id -> Uuid,
        id -> Int8,
        position -> Int4,
        name -> Text,
        kinds -> Array<Text>,
        priorities -> Array<Text>,
        first_response_secs -> Nullable<Int8>,
        resolution_secs -> Nullable<Int8>,
        at_risk_secs -> Nullable<Int8>,
        counted_from -> Text,
        business_days -> Nullable<Array<Int2>>,
        business_opens -> Nullable<Time>,
        business_closes -> Nullable<Time>,
        pause_statuses -> Array<Text>,
        created_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    task_linked_records (workspace_id, task_id, object, record_id) {
        workspace_id -> Uuid,
        task_id -> Uuid,
        object -> Text,
        record_id -> Text,
    }
}

diesel::table! {
    assignments (workspace_id, id) {
        workspace_id -> Uuid,
        id -> Uuid,
        task_id -> Uuid,
        user_id -> Uuid,
        progress_status -> Text,
        via_channel_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(users -> workspaces (workspace_id));
diesel::joinable!(channels -> workspaces (workspace_id));
diesel::joinable!(tasks -> workspaces (workspace_id));

diesel::table! {
    api_tokens (workspace_id, id) {
        workspace_id -> Uuid,
        id -> Uuid,
        token_hash -> Bytea,
        display_prefix -> Text,
        user_id -> Nullable<Uuid>,
        service_name -> Nullable<Text>,
        scopes -> Array<Text>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    task_create_requests (workspace_id, actor_type, actor_id, request_id) {
        workspace_id -> Uuid,
        actor_type -> Text,
        actor_id -> Text,
        request_id -> Text,
        payload_hash -> Bytea,
        task_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    task_timers (workspace_id, id) {
        workspace_id -> Uuid,
        id -> Uuid,
        task_id -> Uuid,
        action -> Text,
        params -> Jsonb,
        fire_at -> Timestamptz,
        state -> Text,
        outcome -> Nullable<Text>,
        attempts -> Int4,
        created_by_type -> Text,
        created_by_id -> Text,
        request_id -> Nullable<Text>,
        request_hash -> Nullable<Bytea>,
        created_at -> Timestamptz,
        settled_at -> Nullable<Timestamptz>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(api_tokens, users);
diesel::allow_tables_to_appear_in_same_query!(assignments, tasks);
diesel::allow_tables_to_appear_in_same_query!(channel_members, users);
diesel::allow_tables_to_appear_in_same_query!(assignments, users);
