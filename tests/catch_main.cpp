// The one translation unit that compiles Catch2's main (it alone costs ~16 s),
// so that editing a test recompiles only that test.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
