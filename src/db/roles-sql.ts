/** A Postgres role name we are willing to splice into SQL (quoted as well). */
const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface DatabaseRoles {
  /** Owns the database and every table; runs `gatehouse migrate`. */
  ownerRole: string;
  /** What `serve` and the CLI connect as: reads and writes rows, never alters a table. */
  appRole: string;
}

/** The tables the app may only read and append to; their triggers refuse the rest anyway. */
const APPEND_ONLY_TABLES = ['audit_log', 'audit_anchors'];

/**
 * SQL that sets up the two roles Gatehouse should run as (README → Security), for a superuser to
 * run connected to Gatehouse's database, before the first `gatehouse migrate` and again after each
 * one (it is idempotent; the second run restricts tables the migration created).
 *
 * Why two roles: the append-only triggers on audit_log stop UPDATE, DELETE and TRUNCATE from any
 * role, but a table's owner can `ALTER TABLE … DISABLE TRIGGER`. The app is therefore not the owner
 * of any table: it gets row privileges only, and on the audit tables only SELECT and INSERT.
 */
export function databaseRolesSql(roles: DatabaseRoles): string {
  for (const [option, name] of [['--owner-role', roles.ownerRole], ['--app-role', roles.appRole]] as const) {
    if (!ROLE_NAME.test(name)) throw new Error(`${option} "${name}" is not a plain role name (lower-case letters, digits and _, at most 63)`);
  }
  if (roles.ownerRole === roles.appRole) throw new Error('the owner role and the app role must differ: the app must not own the tables');
  const owner = `"${roles.ownerRole}"`;
  const app = `"${roles.appRole}"`;
  const appendOnly = APPEND_ONLY_TABLES.map((t) => `'${t}'`).join(', ');
  return `-- Gatehouse database roles (README → Security). Run as a superuser, connected to Gatehouse's
-- database, before the first \`gatehouse migrate\` and again after every migrate. Then give both roles
-- passwords (alter role ${roles.ownerRole} password '…'), run migrations as ${roles.ownerRole} and serve as ${roles.appRole}.
do $$
begin
  if not exists (select from pg_roles where rolname = '${roles.ownerRole}') then create role ${owner} login; end if;
  if not exists (select from pg_roles where rolname = '${roles.appRole}') then create role ${app} login; end if;
  execute format('alter database %I owner to ${owner}', current_database());
  -- CREATE on the database lets pg-boss make (and upgrade) its own pgboss schema as the app; it
  -- gives no power over the owner's tables.
  execute format('grant connect, create on database %I to ${app}', current_database());
end
$$;
alter role ${app} nosuperuser nocreaterole nocreatedb nobypassrls;
alter schema public owner to ${owner};
revoke create on schema public from public;
grant usage on schema public to ${app};

-- Tables, sequences and functions made earlier by another role (a first install run as postgres)
-- pass to the owner: the app must own none of them.
do $$
declare
  object record;
begin
  for object in select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = 'public' and c.relkind in ('r', 'p') loop
    execute format('alter table public.%I owner to ${owner}', object.relname);
  end loop;
  for object in select p.oid::regprocedure as signature from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                where n.nspname = 'public' loop
    execute format('alter function %s owner to ${owner}', object.signature);
  end loop;
end
$$;

-- Row privileges: everything but TRUNCATE on ordinary tables, now and for tables migrations add.
grant select, insert, update, delete on all tables in schema public to ${app};
grant usage, select on all sequences in schema public to ${app};
alter default privileges for role ${owner} in schema public grant select, insert, update, delete on tables to ${app};
alter default privileges for role ${owner} in schema public grant usage, select on sequences to ${app};
revoke truncate, references, trigger on all tables in schema public from ${app};

-- The audit tables: read and append only.
do $$
declare
  name text;
begin
  foreach name in array array[${appendOnly}] loop
    if to_regclass('public.' || name) is not null then
      execute format('revoke all on public.%I from ${app}', name);
      execute format('grant select, insert on public.%I to ${app}', name);
    end if;
  end loop;
end
$$;
`;
}
