-- Runs once, when the postgres volume is first initialised (/docker-entrypoint-initdb.d),
-- as POSTGRES_USER, who owns the databases. One database per service: no service reads
-- another's tables. `alliance migrate` also creates any database that is missing.
CREATE DATABASE alliance_intake;
CREATE DATABASE alliance_review;
CREATE DATABASE alliance_reporting;
CREATE DATABASE alliance_notify;
