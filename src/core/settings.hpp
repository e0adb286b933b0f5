// Config keys of the core: [node] and [log].
#pragma once
#include "core/config.hpp"
namespace rh::core {
void declare_config(config::Schema& s);
}
