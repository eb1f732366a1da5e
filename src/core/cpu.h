// Facts about the host CPU used for defaults (thread count).
#pragma once

namespace smoe {

// Physical cores available to this process (hyper-threads counted once); at least 1.
int physical_core_count();

}  // namespace smoe
