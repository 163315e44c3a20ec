# Layering checks over the sources under DIR (see DESIGN.md, "The seams"):
#   CHECK=caf  no file includes a CAF header or names a CAF:: target:
#              reactor/ builds and is usable without CAF.
#   CHECK=ws   no file outside the ws and tls sources and headers includes
#              fastnet/ws*, fastnet/tls* or OpenSSL: fastnet::reactor builds
#              and links without fastnet::ws and fastnet::tls, so only their
#              users link OpenSSL.
if(CHECK STREQUAL "caf")
  set(regex "#[ \t]*include[ \t]*[<\"]caf/|CAF::")
  set(what "CAF")
  set(skip "^$")
elseif(CHECK STREQUAL "ws")
  set(regex "#[ \t]*include[ \t]*[<\"](fastnet/ws[/.]|fastnet/tls/|openssl/)")
  set(what "fastnet::ws, fastnet::tls or OpenSSL")
  # The ws and tls libraries themselves; their CMake rules name OpenSSL.
  set(skip "/ws/|/ws\\.hpp$|/tls/|/CMakeLists\\.txt$")
else()
  message(FATAL_ERROR "CHECK must be caf or ws, not '${CHECK}'")
endif()

file(GLOB_RECURSE files "${DIR}/*.hpp" "${DIR}/*.cpp" "${DIR}/*.h" "${DIR}/CMakeLists.txt")
list(LENGTH files n)
if(n EQUAL 0)
  message(FATAL_ERROR "no sources found under ${DIR}")
endif()
set(bad "")
set(checked 0)
foreach(f IN LISTS files)
  if(f MATCHES "${skip}")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(STRINGS "${f}" hits REGEX "${regex}")
  if(hits)
    list(APPEND bad "${f}: ${hits}")
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "${what} referenced under ${DIR}:\n${bad}")
endif()
message(STATUS "checked ${checked} files under ${DIR}: no ${what}")
