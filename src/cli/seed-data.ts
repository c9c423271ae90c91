import type { CancellationPolicy, OperatingHours } from '../db/schema/index.ts';

/** Demo content for `npm run db:seed`: Kenyan cities, their neighbourhoods and kinds of space. */

export const CITIES = [
  { name: 'Nairobi', lat: -1.2864, lng: 36.8172, areas: ['Westlands', 'Kilimani', 'Karen', 'Upper Hill', 'Lavington', 'Kileleshwa', 'Gigiri', 'CBD'] },
  { name: 'Mombasa', lat: -4.0435, lng: 39.6682, areas: ['Nyali', 'Old Town', 'Bamburi', 'Tudor', 'Shanzu'] },
  { name: 'Kisumu', lat: -0.0917, lng: 34.768, areas: ['Milimani', 'Kondele', 'Riat Hills', 'Tom Mboya'] },
  { name: 'Nakuru', lat: -0.3031, lng: 36.08, areas: ['Milimani', 'Section 58', 'Lanet', 'Kenyatta Avenue'] },
  { name: 'Eldoret', lat: 0.5143, lng: 35.2698, areas: ['Elgon View', 'Kapsoya', 'Pioneer', 'Langas'] },
] as const;

export const STREETS = [
  'Moi Avenue',
  'Kenyatta Avenue',
  'Ngong Road',
  'Waiyaki Way',
  'Oginga Odinga Street',
  'Uhuru Highway',
  'Nyerere Road',
  'Jomo Kenyatta Highway',
  'Argwings Kodhek Road',
  'Links Road',
];

export interface Kind {
  label: string;
  words: string[];
  capacity: [number, number];
  price: [number, number];
  amenities: string[];
  description: string;
}

export const KINDS: Kind[] = [
  {
    label: 'Meeting Room',
    words: ['Boardroom', 'Meeting Room', 'Huddle Room'],
    capacity: [4, 16],
    price: [800, 4000],
    amenities: ['wifi', 'whiteboard', 'tv screen', 'air conditioning', 'coffee'],
    description: 'A quiet, well-lit room for meetings and interviews, with a large table and a screen for presentations.',
  },
  {
    label: 'Photo Studio',
    words: ['Photo Studio', 'Light Studio', 'Daylight Studio'],
    capacity: [2, 12],
    price: [2000, 8000],
    amenities: ['stage lighting', 'green screen', 'backdrops', 'changing room', 'wifi'],
    description: 'A photography studio with north-facing windows, paper backdrops, strobes and a changing room.',
  },
  {
    label: 'Podcast Studio',
    words: ['Podcast Booth', 'Sound Room', 'Recording Studio'],
    capacity: [2, 6],
    price: [1500, 5000],
    amenities: ['microphones', 'sound treatment', 'mixing desk', 'headphones', 'wifi'],
    description: 'An acoustically treated room with four microphones, a mixing desk and an engineer on request.',
  },
  {
    label: 'Event Hall',
    words: ['Event Hall', 'Banquet Hall', 'Conference Hall'],
    capacity: [50, 400],
    price: [8000, 25000],
    amenities: ['sound system', 'projector', 'stage', 'parking', 'catering', 'backup generator', 'wheelchair access'],
    description: 'A large hall for conferences, launches and weddings, with a stage, a PA system and catering partners.',
  },
  {
    label: 'Co-working',
    words: ['Hot Desks', 'Co-working Floor', 'Work Lounge'],
    capacity: [10, 60],
    price: [500, 2000],
    amenities: ['wifi', 'coffee', 'printing', 'lockers', 'backup generator'],
    description: 'Open desks with fast fibre internet, a kitchen with free coffee and quiet phone booths.',
  },
  {
    label: 'Rooftop',
    words: ['Rooftop Terrace', 'Sky Deck', 'Garden Terrace'],
    capacity: [20, 120],
    price: [5000, 18000],
    amenities: ['sound system', 'bar', 'outdoor seating', 'lighting', 'parking'],
    description: 'An open-air terrace with city views, string lights and a bar counter, ideal for evening events.',
  },
  {
    label: 'Training Room',
    words: ['Training Room', 'Classroom', 'Workshop Room'],
    capacity: [12, 40],
    price: [1500, 6000],
    amenities: ['projector', 'whiteboard', 'flip charts', 'wifi', 'air conditioning', 'parking'],
    description: 'A classroom set-up for workshops and trainings, with a projector, flip charts and breakout corners.',
  },
  {
    label: 'Dance Studio',
    words: ['Dance Studio', 'Movement Room', 'Rehearsal Space'],
    capacity: [5, 30],
    price: [1000, 4000],
    amenities: ['mirrors', 'sprung floor', 'sound system', 'changing room'],
    description: 'A bright rehearsal studio with a sprung floor, wall mirrors and a sound system.',
  },
];

const WEEKDAY_HOURS: OperatingHours = {
  mon: [['08:00', '18:00']],
  tue: [['08:00', '18:00']],
  wed: [['08:00', '18:00']],
  thu: [['08:00', '18:00']],
  fri: [['08:00', '18:00']],
};
const EXTENDED_HOURS: OperatingHours = { ...WEEKDAY_HOURS, sat: [['09:00', '17:00']] };
const EVENING_HOURS: OperatingHours = {
  mon: [['07:00', '22:00']],
  tue: [['07:00', '22:00']],
  wed: [['07:00', '22:00']],
  thu: [['07:00', '22:00']],
  fri: [['07:00', '23:00']],
  sat: [['09:00', '23:00']],
  sun: [['10:00', '20:00']],
};
const SPLIT_HOURS: OperatingHours = {
  mon: [
    ['08:00', '12:00'],
    ['14:00', '19:00'],
  ],
  wed: [
    ['08:00', '12:00'],
    ['14:00', '19:00'],
  ],
  fri: [
    ['08:00', '12:00'],
    ['14:00', '19:00'],
  ],
};

export const HOURS: Array<OperatingHours | null> = [WEEKDAY_HOURS, EXTENDED_HOURS, EVENING_HOURS, SPLIT_HOURS, null];
export const POLICIES: CancellationPolicy[] = ['flexible', 'moderate', 'strict'];

export const PEOPLE = {
  admin: { first: 'Grace', last: 'Wanjiku' },
  owners: [
    { first: 'Otieno', last: 'Odhiambo' },
    { first: 'Amina', last: 'Hassan' },
    { first: 'Kiprono', last: 'Cheruiyot' },
  ],
  clients: [
    { first: 'Wambui', last: 'Kamau' },
    { first: 'Brian', last: 'Mutua' },
    { first: 'Achieng', last: 'Owino' },
    { first: 'Faith', last: 'Njeri' },
    { first: 'Juma', last: 'Baraka' },
  ],
};

/** A small deterministic generator, so every seed of the same size produces the same catalogue. */
export function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => Math.floor(next() * (max - min + 1)) + min,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    some: <T>(items: readonly T[], min: number, max: number): T[] => {
      const count = Math.min(items.length, Math.floor(next() * (max - min + 1)) + min);
      return [...items].sort(() => next() - 0.5).slice(0, count);
    },
  };
}

export type Random = ReturnType<typeof random>;

/** Colours and shapes for the generated photos: an SVG scene per image. */
export function sceneSvg(rng: Random, label: string): string {
  const hue = rng.int(0, 359);
  const accent = (hue + rng.int(90, 200)) % 360;
  const shapes = Array.from({ length: rng.int(3, 7) }, () => {
    const x = rng.int(0, 1200);
    const y = rng.int(100, 800);
    const w = rng.int(80, 420);
    const h = rng.int(60, 360);
    return `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="${rng.int(0, 40)}" fill="hsl(${accent}, ${rng.int(30, 70)}%, ${rng.int(35, 75)}%)" opacity="0.85"/>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="900">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="hsl(${hue}, 55%, 70%)"/><stop offset="1" stop-color="hsl(${hue}, 45%, 30%)"/>
    </linearGradient></defs>
    <rect width="1200" height="900" fill="url(#g)"/>
    <rect y="700" width="1200" height="200" fill="hsl(${hue}, 25%, 22%)"/>
    ${shapes}
    <title>${label.replace(/[<&>]/g, '')}</title>
  </svg>`;
}

/** What guests say, by the stars they give. */
export const REVIEW_COMMENTS: Record<number, string[]> = {
  1: ['The room was not as described and nobody answered the phone.'],
  2: ['Fine location, but the Wi-Fi kept dropping and the air conditioning was loud.', 'Smaller than the photos suggest.'],
  3: ['Decent space for the price; parking was a struggle.', 'Did the job. The coffee machine was out of order.'],
  4: [
    'Clean, bright and easy to find. The host was quick to reply.',
    'Good value; the generator kicked in during a power cut without a hitch.',
    'Great for our workshop, though the projector needed a newer cable.',
  ],
  5: [
    'Perfect for our team offsite: fast internet, great coffee, friendly host.',
    'Exactly as pictured. We have booked it again for next month.',
    'Spotless, quiet and the light was beautiful for our shoot.',
    'The host went out of their way to set everything up before we arrived.',
  ],
};

export const TESTIMONIALS: Array<{ content: string; rating: number }> = [
  { content: 'I found a boardroom in Westlands an hour before a client meeting and paid with M-Pesa in seconds.', rating: 5 },
  { content: 'Listing my studio on Spacer filled my quiet weekdays within a month.', rating: 5 },
  { content: 'Booking and payment are painless; I only wish there were more spaces in Eldoret.', rating: 4 },
  { content: 'Our training moved from Nairobi to Kisumu at short notice and Spacer had three rooms to choose from.', rating: 5 },
  { content: 'The calendar feed keeps my bookings in sync with my phone. A real time saver.', rating: 4 },
  { content: 'Good selection of spaces, and the receipts make expense claims simple.', rating: 4 },
  { content: 'Support sorted out a double booking from another site quickly; Spacer itself never double books.', rating: 3 },
];
