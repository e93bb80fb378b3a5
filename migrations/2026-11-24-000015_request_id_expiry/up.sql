-- Request ids are remembered for a retention period (DOCKET_REQUEST_ID_RETENTION), then purged by
-- the server's housekeeping (src/housekeeping.rs), oldest first, a batch at a time: this index
-- finds them without reading the rest of the table.
CREATE INDEX task_create_requests_created_idx ON task_create_requests (created_at);
