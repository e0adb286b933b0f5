#pragma once
#include <vector>

#include "storage/migrations.hpp"

namespace rh::jobs {
// The jobs, schedules and events tables.
std::vector<storage::Migration> migrations();
}  // namespace rh::jobs
