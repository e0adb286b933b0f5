# Common compile options for every Ringhouse target.
add_library(ringhouse_options INTERFACE)
target_compile_options(ringhouse_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual
  -Wno-missing-field-initializers
  # GCC 12 misreports Asio coroutine frames (awaitable_frame_base::operator delete).
  -Wno-mismatched-new-delete)
if(RINGHOUSE_WERROR)
  target_compile_options(ringhouse_options INTERFACE -Werror)
endif()
if(RINGHOUSE_SANITIZE)
  target_compile_options(ringhouse_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
    # The sanitizers' instrumentation makes GCC 12 report std::regex and
    # std::function internals as maybe-uninitialized; the dev build still
    # checks our code with the warning on.
    -Wno-maybe-uninitialized)
  target_link_options(ringhouse_options INTERFACE -fsanitize=address,undefined)
endif()
