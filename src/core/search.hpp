#pragma once
// Search language (searchEntities in js/index.d.ts), evaluated on an entity's current (`modified`) document.
// criteria: array of {field: condition}; all must hold. field: a top-level entity field or a
// dotted path into data ("address.city"; "data.age" also accepted). condition: a literal
// (strings case-insensitive equal, numbers/booleans equal) or an operator object with
// $eq $ne $gt $gte $lt $lte $in $nin $regex $exists.
#include "core/json.hpp"

namespace dc {

// Validates criteria; throws Error(INVALID_FORM, "Unknown search operator: $foo") etc.
void validateSearchCriteria(const Json& criteria);
bool matchesCriteria(const Json& entity, const Json& criteria);

}  // namespace dc
