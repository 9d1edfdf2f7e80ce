/* idctl migrate: copies a node's data between stores (LMDB <-> PostgreSQL). */
#ifndef IDN_CTL_MIGRATE_H
#define IDN_CTL_MIGRATE_H

/* argv[0] is "migrate". Returns the process exit status. */
int migrate_main(int argc, char **argv);

#endif
