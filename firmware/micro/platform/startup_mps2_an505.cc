// Startup of the MPS2 AN505 board (qemu -M mps2-an505): a Cortex-M33 that boots in the secure
// state with its vector table at 0x10000000, the secure alias of the 4 MB SSRAM that
// mps2_an505.ld links the whole image into.
#include "startup.h"

namespace edgevae::micro {

// C linkage: the linker script names it as the ELF entry point, where a debugger starts.
extern "C" [[noreturn]] void Reset_Handler() {
  EnableFpu();
  // ARMv8-M's stack limit: a push below the stack's end faults, and the fault handler reports
  // it, where a Cortex-M4 would silently write on into the heap.
  asm volatile("msr msplim, %0" : : "r"(__stack_limit));
  Start();
}

extern "C" {
// The reset vector reads the table at VTOR_S's reset value; the linker script puts .vectors at
// the start of RAM. constinit: the table must be in the image, not built by a constructor.
[[gnu::section(".vectors"), gnu::used]] constinit const VectorTable g_micro_vector_table = {
    __stack_top,
    {
        Reset_Handler,
        MicroFaultHandler,  // NMI
        MicroFaultHandler,  // HardFault
        MicroFaultHandler,  // MemManage (disabled at reset: escalates to HardFault)
        MicroFaultHandler,  // BusFault (likewise)
        MicroFaultHandler,  // UsageFault (likewise; a stack-limit violation is one)
        MicroFaultHandler,  // SecureFault (likewise)
        nullptr,            // reserved
        nullptr,            // reserved
        nullptr,            // reserved
        MicroFaultHandler,  // SVCall
        MicroFaultHandler,  // DebugMonitor
        nullptr,            // reserved
        MicroFaultHandler,  // PendSV
        MicroFaultHandler,  // SysTick
    },
};
}  // extern "C"

}  // namespace edgevae::micro
