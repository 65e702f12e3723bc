-- The audit log becomes tamper-evident: rows are sealed into a hash chain (hub/audit/chain.py) in the
-- order they are sealed, and a sealed row can no longer be changed or deleted through SQL (a superuser
-- can still bypass triggers; `sitewatch hub audit verify` then names the first broken link).

ALTER TABLE audit_log
    ADD COLUMN seq        bigint,
    ADD COLUMN prev_hash  text,
    ADD COLUMN hash       text;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq) WHERE seq IS NOT NULL;
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE hash IS NULL;

CREATE FUNCTION sitewatch_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.hash IS NOT NULL THEN
            RAISE EXCEPTION 'audit_log row % is sealed: the audit log is append-only', OLD.id;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.hash IS NULL THEN
        RETURN NEW;  -- sealing
    END IF;
    -- Deleting a user sets user_id to NULL; user_id is not part of the hash.
    IF (NEW.id, NEW.at, NEW.username, NEW.action, NEW.outcome, NEW.target, NEW.client, NEW.details, NEW.seq,
        NEW.prev_hash, NEW.hash)
       IS DISTINCT FROM
       (OLD.id, OLD.at, OLD.username, OLD.action, OLD.outcome, OLD.target, OLD.client, OLD.details, OLD.seq,
        OLD.prev_hash, OLD.hash) THEN
        RAISE EXCEPTION 'audit_log row % is sealed: the audit log is append-only', OLD.id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION sitewatch_audit_guard();

-- TRUNCATE fires no row trigger: refuse it outright.
CREATE FUNCTION sitewatch_audit_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: TRUNCATE refused';
END
$$;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION sitewatch_audit_no_truncate();
