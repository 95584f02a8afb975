/* migrations.h - private to db/: the ordered schema steps. */
#ifndef DB_MIGRATIONS_H
#define DB_MIGRATIONS_H

int migrations_count(void);
/* SQL taking the schema from version-1 to version; NULL out of range. */
const char *migrations_step(int version);

/* A step whose SQL starts with this edits the stored schema itself (what
 * ALTER TABLE cannot do, such as dropping a CHECK): db_migrate() runs it
 * with PRAGMA writable_schema on, then bumps schema_version (so that every
 * connection reads the schema again) and checks the file (quick_check).
 * Such a step must change at least one row of sqlite_schema. */
#define MIGRATIONS_SCHEMA_EDIT "UPDATE sqlite_schema "
int migrations_edits_schema(int version);

#endif
