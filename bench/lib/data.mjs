// Event shapes shared by the JS benchmarks; the same ~300-byte individual as bench/native_bench.cpp.
export const BASE_MS = Date.UTC(2024, 0, 1);

const CITIES = ['Nairobi', 'Mombasa', 'Kisumu', 'Nakuru', 'Eldoret', 'Thika', 'Malindi', 'Garissa'];
const JOBS = ['farmer', 'teacher', 'nurse', 'trader', 'driver', 'student'];
const pad = (v, w) => String(v).padStart(w, '0');

export function guidOf(tag, i) {
  return `${tag.toString(16).padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

export function individualData(i) {
  return {
    name: `Person ${pad(i, 7)}`,
    givenName: `Given${i}`,
    familyName: `Family${i % 5000}`,
    dateOfBirth: `${1950 + (i % 60)}-${pad(1 + (i % 12), 2)}-${pad(1 + (i % 28), 2)}`,
    gender: i % 2 ? 'female' : 'male',
    phone: `+2547${pad(i, 8)}`,
    email: `person${i}@example.org`,
    address: { street: `${1 + (i % 999)} Bench Street`, city: CITIES[i % 8], postcode: pad(i % 100000, 5), country: 'KE' },
    householdSize: 1 + (i % 9),
    occupation: JOBS[i % 6],
    notes: 'Collected during the benchmark run.',
  };
}

// A create-individual form. `tag` keeps event and entity guids apart between runs and clients.
export function createForm(tag, i, timeMs = BASE_MS + i, userId = 'bench-user') {
  return {
    guid: guidOf(tag, i),
    entityGuid: guidOf(tag + 1, i),
    type: 'create-individual',
    data: individualData(i),
    timestamp: new Date(timeMs).toISOString(),
    userId,
  };
}
