-- The chain trigger computes each event's hash through qf.event_hash and
-- qf.event_canonical. Declared IMMUTABLE while their bodies call STABLE
-- functions (to_char, convert_to), PostgreSQL would not inline them: each
-- call was parsed and planned anew, in every transaction that records a
-- finding. STABLE is what they are (to_char with this fixed, locale-free
-- format gives the same text everywhere), and as STABLE they are inlined
-- into the trigger's cached plan. The hash of an event does not change.
ALTER FUNCTION qf.event_canonical(bigint, bigint, bigint, timestamptz, text, text, text, text) STABLE;
ALTER FUNCTION qf.event_hash(text, text) STABLE;
