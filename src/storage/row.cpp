#include <charconv>
#include <stdexcept>

#include "storage/database.hpp"

namespace rh::storage {

const char* dialect_name(Dialect d) {
  return d == Dialect::sqlite ? "sqlite" : "mariadb";
}

const Value& Row::at(std::string_view col) const {
  for (std::size_t i = 0; i < cols_->size(); ++i) {
    if ((*cols_)[i] == col) return vals_[i];
  }
  throw std::out_of_range("no column " + std::string(col));
}

bool Row::is_null(std::string_view col) const {
  return std::holds_alternative<std::monostate>(at(col));
}

std::int64_t Row::integer(std::string_view col) const {
  const Value& v = at(col);
  if (auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (auto* d = std::get_if<double>(&v)) return static_cast<std::int64_t>(*d);
  if (auto* s = std::get_if<std::string>(&v)) {
    std::int64_t out = 0;
    std::from_chars(s->data(), s->data() + s->size(), out);
    return out;
  }
  return 0;
}

std::optional<std::int64_t> Row::opt_integer(std::string_view col) const {
  if (is_null(col)) return std::nullopt;
  return integer(col);
}

double Row::number(std::string_view col) const {
  const Value& v = at(col);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  if (auto* s = std::get_if<std::string>(&v)) return std::strtod(s->c_str(), nullptr);
  return 0;
}

std::string Row::text(std::string_view col) const {
  const Value& v = at(col);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* b = std::get_if<Blob>(&v)) return b->bytes;
  if (auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return std::to_string(*d);
  return {};
}

std::optional<std::string> Row::opt_text(std::string_view col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

Result<Row> Connection::query_one(std::string_view sql, std::initializer_list<Value> params) {
  auto r = query(sql, params);
  if (!r) return r.take_error();
  if (r->empty()) return Error(Errc::not_found, "not found");
  return std::move(r->front());
}

Result<std::optional<Row>> Connection::query_opt(std::string_view sql,
                                                 std::initializer_list<Value> params) {
  auto r = query(sql, params);
  if (!r) return r.take_error();
  if (r->empty()) return std::optional<Row>();
  return std::optional<Row>(std::move(r->front()));
}

}  // namespace rh::storage
