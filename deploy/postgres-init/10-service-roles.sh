#!/usr/bin/env bash
# One database user per service, owner of its own database and of nothing else: no process of
# the application connects as the server's administrator (POSTGRES_USER).
#
# The official postgres image runs this once, when its volume is first initialised
# (/docker-entrypoint-initdb.d), with the environment docker-compose.yml gives the postgres
# service: POSTGRES_USER, POSTGRES_DB and each service's URL, INTAKE_DATABASE_URL,
# REVIEW_DATABASE_URL, REPORTING_DATABASE_URL and NOTIFY_DATABASE_URL. Each URL names the user,
# its password and the database: postgresql://USER:PASSWORD@HOST:PORT/DATABASE.
#
# Safe to run again, and that is how a volume made before there was one user per service (its
# databases and tables owned by the administrator) moves over, or how a changed password in
# .env reaches the server:
#
#   docker compose exec postgres bash /docker-entrypoint-initdb.d/10-service-roles.sh
#
# It creates each user (or sets its password), creates the database owned by it (or hands an
# existing one over, with every table, sequence, view and type in it), and takes the right to
# connect to the database from everyone else (PUBLIC): a service's user cannot open another
# service's database. tests/deploy/test_compose.py runs it against a real PostgreSQL.
set -euo pipefail

admin="${POSTGRES_USER:-postgres}"
maintenance_db="${POSTGRES_DB:-postgres}"
services=(intake review reporting notify)
pattern='^postgres(ql)?://([a-z_][a-z0-9_]*):([A-Za-z0-9._~-]+)@[^/?#@]+/([a-z_][a-z0-9_]*)([?].*)?$'
declare -A roles passwords databases

# Every URL is read and checked before anything changes.
for service in "${services[@]}"; do
    variable="${service^^}_DATABASE_URL"
    url="${!variable:-}"
    if [[ -z "$url" ]]; then
        echo "postgres-init: $variable is not set: set it in .env (see .env.example)" >&2
        exit 1
    fi
    if [[ ! "$url" =~ $pattern ]]; then
        echo "postgres-init: $variable must be postgresql://USER:PASSWORD@HOST:PORT/DATABASE" \
             "(USER and DATABASE: lower-case letters, digits and _; PASSWORD: letters, digits," \
             "'.', '_', '~' and '-')" >&2
        exit 1
    fi
    if [[ "${BASH_REMATCH[2]}" == "$admin" ]]; then
        echo "postgres-init: $variable must name the $service service's own user, not the" \
             "administrator $admin" >&2
        exit 1
    fi
    roles[$service]="${BASH_REMATCH[2]}"
    passwords[$service]="${BASH_REMATCH[3]}"
    databases[$service]="${BASH_REMATCH[4]}"
done

for service in "${services[@]}"; do
    role="${roles[$service]}"
    password="${passwords[$service]}"
    database="${databases[$service]}"
    echo "postgres-init: $service: user $role, database $database"
    psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --username "$admin" --dbname "$maintenance_db" \
         -v role="$role" -v password="$password" -v database="$database" <<'SQL'
-- A new role has no other power: not superuser, createdb, createrole, replication, bypassrls.
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
ALTER DATABASE :"database" OWNER TO :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"role";
\connect :"database"
-- A database made before its user (an older volume): what the migrations made passes to it.
-- A table takes its own sequences and row type along.
SELECT format('ALTER TABLE %I.%I OWNER TO %I', schemaname, tablename, :'role')
  FROM pg_tables
 WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND tableowner <> :'role' \gexec
SELECT format('ALTER VIEW %I.%I OWNER TO %I', schemaname, viewname, :'role')
  FROM pg_views
 WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND viewowner <> :'role' \gexec
SELECT format('ALTER SEQUENCE %I.%I OWNER TO %I', schemaname, sequencename, :'role')
  FROM pg_sequences
 WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND sequenceowner <> :'role' \gexec
SELECT format('ALTER TYPE %I.%I OWNER TO %I', n.nspname, t.typname, :'role')
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
   AND t.typtype IN ('e', 'd') AND pg_get_userbyid(t.typowner) <> :'role' \gexec
SQL
done
