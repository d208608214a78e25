// Internal to the platform: what the per-board startup files (startup_mps2_an505.cc,
// startup_mps2_an386.cc) share with startup_common.cc and syscalls.cc.
#ifndef EDGEVAE_FIRMWARE_MICRO_PLATFORM_STARTUP_H_
#define EDGEVAE_FIRMWARE_MICRO_PLATFORM_STARTUP_H_

#include <stdint.h>

// Symbols of the linker script (micro_sections.ld). Arrays, so that their addresses are the
// values and nothing is read from them.
extern "C" {
extern char __bss_start__[];
extern char __bss_end__[];
extern char __heap_start[];
extern char __heap_limit[];
extern char __stack_limit[];  // the lowest address of the stack, 8-byte aligned
extern char __stack_top[];    // one past its highest: the initial stack pointer
}

namespace edgevae::micro {

using ExceptionHandler = void (*)();

// The first 16 words of an ARMv7-M / ARMv8-M vector table: the initial stack pointer, then the
// system exceptions. No interrupt is enabled, so no entry for one is needed.
struct VectorTable {
  const void* initial_stack_pointer;
  ExceptionHandler handlers[15];  // reset, NMI, HardFault, ... SysTick
};

// Every exception but reset: reports the exception, the faulting pc and the fault status
// registers on the semihosting console (stderr) and exits with kFaultExitStatus.
extern "C" void MicroFaultHandler();

// The exit status of a fault, 128 + SIGSEGV as a shell reports a crashed host program, so that
// a test tells a fault from main() returning an error.
inline constexpr int kFaultExitStatus = 139;

// What every board does after its own first steps (the FPU, the stack limit): zeroes .bss,
// paints the stack, opens stdin/stdout/stderr, builds argv from the semihosting command line,
// runs the constructors and exits with main's return value.
[[noreturn]] void Start();

// Coprocessors 10 and 11 (the FPU) are off at reset, and with -mfloat-abi=hard any function may
// use a floating-point register; so this runs first, in the reset handler, which uses none.
inline void EnableFpu() {
  volatile uint32_t* const cpacr = reinterpret_cast<volatile uint32_t*>(0xE000ED88u);
  *cpacr = *cpacr | (0xFu << 20);
  // The FPU must be on before the next instruction that might use it.
  asm volatile("dsb\n\tisb" ::: "memory");
}

}  // namespace edgevae::micro

#endif  // EDGEVAE_FIRMWARE_MICRO_PLATFORM_STARTUP_H_
