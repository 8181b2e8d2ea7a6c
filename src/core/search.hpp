#pragma once
// Search language (searchEntities in js/index.d.ts), evaluated on an entity's current (`modified`) document.
// criteria: array of {field: condition}; all must hold. field: a top-level entity field or a
// dotted path into data ("address.city"; "data.age" also accepted). condition: a literal
// (strings case-insensitive equal, numbers/booleans equal) or an operator object with
// $eq $ne $gt $gte $lt $lte $in $nin $regex $exists.
#include <string>

#include "core/json.hpp"

namespace dc {

// Validates criteria; throws Error(INVALID_FORM, "Unknown search operator: $foo") etc.
void validateSearchCriteria(const Json& criteria);
bool matchesCriteria(const Json& entity, const Json& criteria);
// The value a search field names in an entity document (same rules as criteria), or nullptr.
const Json* searchFieldValue(const Json& entity, const std::string& field);

}  // namespace dc
