/* migrations.h - private to db/: the ordered schema steps. */
#ifndef DB_MIGRATIONS_H
#define DB_MIGRATIONS_H

int migrations_count(void);
/* SQL taking the schema from version-1 to version; NULL out of range. */
const char *migrations_step(int version);

#endif
