/**
 * `printf("%.17g", x)` as QEMU's JSON writer prints doubles: 17 significant digits, trailing zeros
 * dropped, exponent form when the exponent is below -4 or at least 17, and the non-JSON `inf`,
 * `-inf`, `nan` for non-finite values.
 */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Number.POSITIVE_INFINITY) return 'inf';
  if (x === Number.NEGATIVE_INFINITY) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const [mant = '', expText = '0'] = Math.abs(x).toExponential(16).split('e');
  const exp = Number(expText);
  const digits = mant.replace('.', '');
  const strip = (s: string): string => s.replace(/0+$/, '');
  if (exp < -4 || exp >= 17) {
    const frac = strip(digits.slice(1));
    const e = Math.abs(exp);
    return `${sign}${digits[0]}${frac === '' ? '' : `.${frac}`}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  }
  if (exp >= 0) {
    const int = digits.slice(0, exp + 1);
    const frac = strip(digits.slice(exp + 1));
    return `${sign}${int}${frac === '' ? '' : `.${frac}`}`;
  }
  const frac = strip(`${'0'.repeat(-exp - 1)}${digits}`);
  return `${sign}0.${frac}`;
}
