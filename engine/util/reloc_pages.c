/* reloc_pages — see reloc_pages.h. */
#include "reloc_pages.h"

#include <link.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct rela_range {
	uintptr_t start;
	size_t len;
} rela_range;

/* The table's address: the loader may have added the load bias to the
 * entry of .dynamic already (glibc does on x86-64) or not. */
static uintptr_t unbiased_ptr(const struct dl_phdr_info *info, uintptr_t p)
{
	return p >= info->dlpi_addr ? p : p + info->dlpi_addr;
}

/* Whether [start, start + len) lies inside one read-only PT_LOAD segment. */
static int in_readonly_segment(const struct dl_phdr_info *info, uintptr_t start, size_t len)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && ph->p_flags == PF_R && start >= lo &&
		    len <= ph->p_filesz && start - lo <= ph->p_filesz - len)
			return 1;
	}
	return 0;
}

/* dl_iterate_phdr's callback: the first object is the executable. Fills
 * the rela_range at data with its DT_RELA table and stops. */
static int find_rela(struct dl_phdr_info *info, size_t size, void *data)
{
	rela_range *r = data;
	uintptr_t rela = 0;
	size_t relasz = 0;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
			continue;
		for (const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
		     d->d_tag != DT_NULL; d++) {
			if (d->d_tag == DT_RELA)
				rela = unbiased_ptr(info, d->d_un.d_ptr);
			else if (d->d_tag == DT_RELASZ)
				relasz = d->d_un.d_val;
		}
	}
	if (rela && relasz && in_readonly_segment(info, rela, relasz))
		*r = (rela_range){.start = rela, .len = relasz};
	return 1;
}

int reloc_pages_find(void **start, size_t *len)
{
	rela_range r = {0};
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t lo, hi;

	if (page <= 0)
		return -1;
	dl_iterate_phdr(find_rela, &r);
	lo = (r.start + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	hi = (r.start + r.len) & ~((uintptr_t)page - 1);
	if (!r.len || hi <= lo)
		return -1;
	*start = (void *)lo;
	*len = hi - lo;
	return 0;
}

size_t reloc_pages_release(void)
{
	void *start;
	size_t len;

	if (reloc_pages_find(&start, &len) != 0 || madvise(start, len, MADV_DONTNEED) != 0)
		return 0;
	return len;
}
