/*
 * server.h - starting and stopping the worker event loops (worker.h has
 * what they share): main.c's one call.
 */
#ifndef SERVER_H
#define SERVER_H

#include "worker.h"

/* Binds the listeners, starts the workers, waits for SIGTERM/SIGINT,
 * drains and returns 0 (or an AP_E* code when it could not start). */
int server_run(struct server *srv);

#endif
