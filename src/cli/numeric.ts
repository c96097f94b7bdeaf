// Numeric flags are read as text: a number if it reads as one, else the text, for the schema to name.
export function numeric(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined
  return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text
}
