#pragma once
// <immintrin.h> for the AVX-512 kernel files. GCC 12's AVX-512 headers trip
// -Wuninitialized on their own _mm512_undefined_* helpers (GCC PR 105593);
// the warning is located in the header, so silencing it around the include
// hides nothing of ours. (Declarations only: nothing here has linkage.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
