/* A qemu-user plugin: guest instructions executed per translation block, for icount-profile.sh.
 * At exit it writes "vaddr instructions" lines (hex address, decimal count) to $ICOUNT_PROFILE_OUT.
 * Declares the few plugin API v1 functions it uses itself, as ../shared/tools/qemu-icount does,
 * so it builds without qemu's headers:  cc -shared -fPIC -O2 icount_profile.c -o libprofile.so */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t,
                                                  void (*)(qemu_plugin_id_t, struct qemu_plugin_tb*));
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb*);
extern uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb*);
extern void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb*, void (*)(unsigned, void*),
                                                 enum qemu_plugin_cb_flags, void*);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, void (*)(qemu_plugin_id_t, void*),
                                           void*);
__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* One record per translation; a block translated twice gets two records, summed by the script. */
typedef struct Block {
  uint64_t vaddr, insns, runs;
  struct Block* next;
} Block;
static Block* blocks;

static void OnExec(unsigned vcpu, void* b) { ((Block*)b)->runs++; }

static void OnTranslate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  Block* b = calloc(1, sizeof *b);
  if (b == NULL) return;
  b->vaddr = qemu_plugin_tb_vaddr(tb);
  b->insns = qemu_plugin_tb_n_insns(tb);
  b->next = blocks;
  blocks = b;
  qemu_plugin_register_vcpu_tb_exec_cb(tb, OnExec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void OnExit(qemu_plugin_id_t id, void* unused) {
  const char* path = getenv("ICOUNT_PROFILE_OUT");
  FILE* f = fopen(path != NULL ? path : "icount-profile.out", "w");
  if (f == NULL) return;
  for (const Block* b = blocks; b != NULL; b = b->next) {
    if (b->runs != 0) {
      fprintf(f, "%llx %llu\n", (unsigned long long)b->vaddr,
              (unsigned long long)(b->insns * b->runs));
    }
  }
  fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const void* info, int argc,
                                                               char** argv) {
  qemu_plugin_register_vcpu_tb_trans_cb(id, OnTranslate);
  qemu_plugin_register_atexit_cb(id, OnExit, NULL);
  return 0;
}
