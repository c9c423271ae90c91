/**
 * Kenyan mobile numbers (Safaricom and the other networks, 07… and the newer 01… ranges) in the
 * form Daraja wants for PartyA/PhoneNumber: 2547XXXXXXXX or 2541XXXXXXXX. Spaces and dashes are
 * tolerated; anything else (landlines, other countries, short or long numbers) is undefined.
 */
export function normalizeKenyanPhone(raw: string): string | undefined {
  const compact = raw.trim().replace(/[\s-]+/g, '');
  const match = /^(?:0|\+254|254)([17]\d{8})$/.exec(compact);
  return match ? `254${match[1]}` : undefined;
}
