-- One database per service, named after it (see services/README.md). Run once by the postgres
-- image on an empty data volume; each service's Alembic migrations create its tables.
CREATE DATABASE applications;
CREATE DATABASE approvals;
CREATE DATABASE contracts;
CREATE DATABASE monitoring;
CREATE DATABASE archive;
