// What every board's reset handler goes on with (Start), the fault handler, and the stack
// painter. The host side of semihosting is qemu (toolchains/qemu-micro.sh); on a real board it
// would be a debug probe, and without one the first semihosting call (a BKPT) faults.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "micro_platform.h"
#include "startup.h"

// newlib and librdimon (--specs=rdimon.specs), whose crt0 we do not link (-nostartfiles).
extern "C" {
void initialise_monitor_handles(void);
void __libc_init_array(void);
void __libc_fini_array(void);
}

// Called by Start() as crt0 would; GCC accepts the call (ISO C++ reserves main to the
// implementation, and this is the implementation's startup code).
int main(int argc, char** argv);

namespace edgevae::micro {
namespace {

// Arm semihosting operations (Arm "Semihosting for AArch32 and AArch64", version 2).
constexpr int kSysWrite0 = 0x04;
constexpr int kSysGetCmdline = 0x15;
constexpr int kSysExitExtended = 0x20;
constexpr uint32_t kAdpStoppedApplicationExit = 0x20026;

int SemihostingCall(int operation, const void* argument) {
  register int r0 asm("r0") = operation;
  register const void* r1 asm("r1") = argument;
  asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

// A word no program is likely to leave on its stack; 0xA5A5A5A5-like byte patterns would also
// let GCC turn the painting loop into a memset call, whose frame lies in the painted region.
constexpr uint32_t kStackPaint = 0xDEADBEEFu;

// Fills the stack below the current stack pointer, i.e. all of it but the frames of the reset
// handler and Start, which stay live for the program's whole run anyway.
void PaintStack() {
  uint32_t* sp;
  asm volatile("mov %0, sp" : "=r"(sp));
  for (volatile uint32_t* word = reinterpret_cast<uint32_t*>(__stack_limit); word < sp; ++word) {
    *word = kStackPaint;
  }
}

// The command line, from SYS_GET_CMDLINE: qemu's `-semihosting-config arg=...` values (or the
// kernel's file name and -append) joined by spaces. Both live in .bss, not on the stack, so that
// the stack measurement sees the program alone.
constexpr int kCommandLineBytes = 2048;
constexpr int kMaxArguments = 64;
char command_line[kCommandLineBytes];
char* argument_vector[kMaxArguments + 1];

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Splits `line` in place at runs of white space; "..." groups, and \ takes the next character
// as it is (how toolchains/qemu-micro.sh writes an argument holding a space, quote or
// backslash). Returns argc, or -1 with more than kMaxArguments.
int SplitCommandLine(char* line, char** argv) {
  int argc = 0;
  char* in = line;
  for (;;) {
    while (IsSpace(*in)) ++in;
    if (*in == '\0') break;
    if (argc == kMaxArguments) return -1;
    char* out = in;  // the unquoted text is never longer than the quoted
    argv[argc++] = out;
    bool quoted = false;
    for (; *in != '\0'; ++in) {
      if (*in == '\\' && in[1] != '\0') {
        *out++ = *++in;
      } else if (*in == '"') {
        quoted = !quoted;
      } else if (!quoted && IsSpace(*in)) {
        ++in;
        break;
      } else {
        *out++ = *in;
      }
    }
    *out = '\0';
  }
  argv[argc] = nullptr;
  return argc;
}

// Exits with a message rather than running main with other arguments than were given.
int ReadArguments() {
  struct {
    char* buffer;
    int length;
  } block = {command_line, kCommandLineBytes};
  if (SemihostingCall(kSysGetCmdline, &block) != 0) {
    fprintf(stderr, "edgevae micro: no semihosting command line, or one longer than %d bytes\n",
            kCommandLineBytes - 1);
    exit(2);
  }
  const int argc = SplitCommandLine(command_line, argument_vector);
  if (argc < 0) {
    fprintf(stderr, "edgevae micro: more than %d arguments\n", kMaxArguments);
    exit(2);
  }
  return argc;
}

// The fault report is written without stdio or the heap, which the fault may have left broken.
char* AppendText(char* out, const char* text) {
  while (*text != '\0') *out++ = *text++;
  return out;
}

char* AppendHex(char* out, uint32_t value) {
  out = AppendText(out, "0x");
  for (int digit = 0; digit < 8; ++digit) {
    out[digit] = "0123456789abcdef"[(value >> (28 - 4 * digit)) & 0xF];
  }
  return out + 8;
}

uint32_t ReadRegister(uintptr_t address) { return *reinterpret_cast<volatile uint32_t*>(address); }

const char* ExceptionName(uint32_t number) {
  switch (number) {
    case 2:
      return "nmi";
    case 3:
      return "hard fault";
    case 4:
      return "memmanage fault";
    case 5:
      return "bus fault";
    case 6:
      return "usage fault";
    case 7:
      return "secure fault";
    default:
      return "unexpected exception";
  }
}

}  // namespace

[[noreturn]] void Start() {
  for (char* byte = __bss_start__; byte < __bss_end__; ++byte) *byte = 0;
  PaintStack();
  // stdin, stdout and stderr: semihosting's ":tt", which qemu maps to its own fds 0, 1 and 2.
  initialise_monitor_handles();
  __libc_init_array();
  atexit(__libc_fini_array);  // as crt0 does: destructors of the fini array run at exit
  const int argc = ReadArguments();
  exit(main(argc, argument_vector));
}

// `frame` is the exception's stacked r0-r3, r12, lr, pc, xpsr, on whichever stack was in use.
// C linkage and `used`: only MicroFaultHandler's assembly calls it.
extern "C" [[noreturn, gnu::used]] void MicroReportFault(const uint32_t* frame) {
  uint32_t ipsr;
  asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  const uint32_t number = ipsr & 0x1FF;
  const uint32_t cfsr = ReadRegister(0xE000ED28);  // MemManage, BusFault and UsageFault status
  const uint32_t hfsr = ReadRegister(0xE000ED2C);
  char message[192];
  char* out = AppendText(message, ExceptionName(number));
  if (number > 7) {
    out = AppendText(out, " ");
    out = AppendHex(out, number);
  }
  out = AppendText(out, ": pc ");
  out = AppendHex(out, frame[6]);
  out = AppendText(out, ", lr ");
  out = AppendHex(out, frame[5]);
  out = AppendText(out, ", cfsr ");
  out = AppendHex(out, cfsr);
  out = AppendText(out, ", hfsr ");
  out = AppendHex(out, hfsr);
  if (cfsr & (1u << 15)) {  // BFARVALID
    out = AppendText(out, ", bfar ");
    out = AppendHex(out, ReadRegister(0xE000ED38));
  }
  if (cfsr & (1u << 7)) {  // MMARVALID
    out = AppendText(out, ", mmfar ");
    out = AppendHex(out, ReadRegister(0xE000ED34));
  }
  if (cfsr & (1u << 20)) {  // STKOF (ARMv8-M): the frame was not stacked, pc and lr are stale
    out = AppendText(out, " (stack overflow)");
  }
  out = AppendText(out, "\n");
  *out = '\0';
  SemihostingCall(kSysWrite0, message);
  // Only an application exit carries a status through qemu; any other reason exits with 1.
  const uint32_t exit_block[2] = {kAdpStoppedApplicationExit, kFaultExitStatus};
  SemihostingCall(kSysExitExtended, exit_block);
  for (;;) {
  }
}

// Naked: the exception frame's address must be read before anything is pushed.
extern "C" [[gnu::naked]] void MicroFaultHandler() {
  asm volatile(
#if defined(__ARM_ARCH_8M_MAIN__)
      // After a stack overflow the stack pointer sits at the limit; lift it, or the report's
      // own pushes would fault again (and a fault in the HardFault handler locks the core up).
      "movs r0, #0\n\t"
      "msr msplim, r0\n\t"
#endif
      // EXC_RETURN bit 2: the frame is on the process stack, else on the main stack.
      "tst lr, #4\n\t"
      "ite eq\n\t"
      "mrseq r0, msp\n\t"
      "mrsne r0, psp\n\t"
      "b MicroReportFault\n\t");
}

}  // namespace edgevae::micro

extern "C" {

size_t MicroStackPeakBytes(void) {
  const uint32_t* word = reinterpret_cast<const uint32_t*>(__stack_limit);
  const uint32_t* const top = reinterpret_cast<const uint32_t*>(__stack_top);
  while (word < top && *word == edgevae::micro::kStackPaint) ++word;
  return static_cast<size_t>(top - word) * sizeof(uint32_t);
}

size_t MicroStackSizeBytes(void) { return static_cast<size_t>(__stack_top - __stack_limit); }

const char* MicroCpuName(void) {
  struct Part {
    uint32_t number;
    const char* name;
  };
  static constexpr Part kParts[] = {
      {0xC20, "cortex-m0"},  {0xC60, "cortex-m0+"}, {0xC23, "cortex-m3"},
      {0xC24, "cortex-m4"},  {0xC27, "cortex-m7"},  {0xD20, "cortex-m23"},
      {0xD21, "cortex-m33"}, {0xD22, "cortex-m55"}, {0xD23, "cortex-m85"},
  };
  const uint32_t cpuid = edgevae::micro::ReadRegister(0xE000ED00);
  if ((cpuid >> 24) != 0x41) return "unknown";  // implementer: Arm
  for (const Part& part : kParts) {
    if (((cpuid >> 4) & 0xFFF) == part.number) return part.name;
  }
  return "unknown";
}

}  // extern "C"
