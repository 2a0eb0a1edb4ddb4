/* clock — the one place that reads the clocks. */
#ifndef DEADBOLT_CLOCK_H
#define DEADBOLT_CLOCK_H

/* Seconds on CLOCK_MONOTONIC: durations, deadlines and budgets. */
double clock_mono(void);

/* Seconds since the epoch (CLOCK_REALTIME): timestamps people read. */
double clock_wall(void);

#endif
