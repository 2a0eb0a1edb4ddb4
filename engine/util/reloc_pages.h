/* reloc_pages — gives back the pages of the executable's relocation table
 * once the dynamic loader has applied it.
 *
 * deadbolt is a position-independent executable (address-space layout
 * randomisation of its own code and of the libraries linked into it), so
 * before main the loader reads every entry of .rela.dyn (~29,000 relative
 * relocations, ~690 KiB) and writes the addresses into .data.rel.ro. After
 * that the table is never read again, but its pages stay mapped and count in
 * the process's resident set for its whole life. reloc_pages_release tells
 * the kernel (madvise MADV_DONTNEED) that those pages are not needed: they
 * are read-only, private and clean, mapped from the binary's file, so the
 * kernel simply unmaps them; anything that read them again would get them
 * back from the file, unchanged. Nothing is written and no protection
 * changes.
 *
 * Only whole pages inside the table are released, and only when the table
 * lies inside a read-only segment of the executable; otherwise nothing is
 * done. .rela.plt (the lazily bound calls into libc, which the loader reads
 * later) is a separate table and stays. */
#ifndef DEADBOLT_RELOC_PAGES_H
#define DEADBOLT_RELOC_PAGES_H

#include <stddef.h>

/* Releases the executable's relocation pages; returns the bytes released
 * (0 when there was nothing to release or it was not possible). Call it
 * once, first thing in main: before main the loader still needs the table. */
size_t reloc_pages_release(void);

/* The whole pages reloc_pages_release would release: sets *start and *len
 * and returns 0, or returns -1 (and sets nothing) when there are none. */
int reloc_pages_find(void **start, size_t *len);

#endif
