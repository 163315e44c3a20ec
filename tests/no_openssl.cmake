# Fails when the program EXE, which links only fastnet::reactor, loads
# OpenSSL or CAF: those are the dependencies of fastnet::ws and
# fastnet::actors, which a plain TCP user does not pay for. Reads the
# program's (and, recursively, its libraries') DT_NEEDED entries; a linker
# that drops unused libraries (--as-needed) keeps only those whose symbols
# the program uses.
file(GET_RUNTIME_DEPENDENCIES EXECUTABLES "${EXE}"
     RESOLVED_DEPENDENCIES_VAR resolved UNRESOLVED_DEPENDENCIES_VAR unresolved)
set(bad "")
foreach(lib IN LISTS resolved unresolved)
  get_filename_component(name "${lib}" NAME)
  if(name MATCHES "^lib(crypto|ssl|caf_[a-z]+)\\.so")
    list(APPEND bad "${lib}")
  endif()
endforeach()
list(LENGTH resolved n)
if(n EQUAL 0)
  message(FATAL_ERROR "no runtime dependencies found for ${EXE}: the check saw nothing")
endif()
if(bad)
  message(FATAL_ERROR "${EXE} loads ${bad}")
endif()
message(STATUS "${EXE}: ${n} runtime dependencies, none of OpenSSL or CAF")
