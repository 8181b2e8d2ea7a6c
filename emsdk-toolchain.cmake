# Cross-compile with Emscripten: from $EMSDK when set, else Debian's `emscripten` package.
if(DEFINED ENV{EMSDK} AND EXISTS "$ENV{EMSDK}/upstream/emscripten/cmake/Modules/Platform/Emscripten.cmake")
  set(_dc_em_platform "$ENV{EMSDK}/upstream/emscripten/cmake/Modules/Platform/Emscripten.cmake")
elseif(EXISTS "/usr/share/emscripten/cmake/Modules/Platform/Emscripten.cmake")
  set(_dc_em_platform "/usr/share/emscripten/cmake/Modules/Platform/Emscripten.cmake")
else()
  message(FATAL_ERROR "Emscripten not found: install Debian's `emscripten` package (scripts/setup.sh) or set EMSDK")
endif()
include("${_dc_em_platform}")

# Emscripten 3.1.6's JS optimizer needs `acorn`, which Debian ships outside Node's search path
# (docs/toolchain.md, 'acorn and NODE_PATH'). Launchers put it on NODE_PATH for every compile and link.
set(CMAKE_C_COMPILER_LAUNCHER env NODE_PATH=/usr/share/nodejs)
set(CMAKE_CXX_COMPILER_LAUNCHER env NODE_PATH=/usr/share/nodejs)
set(CMAKE_CXX_LINKER_LAUNCHER env NODE_PATH=/usr/share/nodejs)

# The platform file sets `node --experimental-wasm-threads`, which Node 20 rejects;
# --no-experimental-fetch lets the 3.1.6 loader read the .wasm from disk under Node 18+ (docs/toolchain.md).
find_program(DC_NODE node REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR "${DC_NODE};--no-experimental-fetch" CACHE STRING "" FORCE)
