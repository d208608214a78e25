// Startup of the MPS2 AN386 board (qemu -M mps2-an386): a Cortex-M4 with its vector table at 0,
// the start of the 4 MB SSRAM that mps2_an386.ld links the whole image into.
#include "startup.h"

namespace edgevae::micro {

// C linkage: the linker script names it as the ELF entry point, where a debugger starts.
// ARMv7-M has no stack limit register: an overflow writes into the heap unnoticed, and only
// MicroStackPeakBytes() reaching the stack's size tells of it.
extern "C" [[noreturn]] void Reset_Handler() {
  EnableFpu();
  Start();
}

extern "C" {
// VTOR resets to 0, where the linker script puts .vectors. constinit: the table must be in the
// image, not built by a constructor.
[[gnu::section(".vectors"), gnu::used]] constinit const VectorTable g_micro_vector_table = {
    __stack_top,
    {
        Reset_Handler,
        MicroFaultHandler,  // NMI
        MicroFaultHandler,  // HardFault
        MicroFaultHandler,  // MemManage (disabled at reset: escalates to HardFault)
        MicroFaultHandler,  // BusFault (likewise)
        MicroFaultHandler,  // UsageFault (likewise)
        nullptr,            // reserved
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
