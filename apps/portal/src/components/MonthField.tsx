// The month a page reports on (YYYY-MM); clearing the field keeps the month shown.
export function MonthField({ month, onChange }: { month: string; onChange: (month: string) => void }) {
  return (
    <label className="inline">
      Month
      <input type="month" value={month} onChange={(e) => e.target.value && onChange(e.target.value)} />
    </label>
  );
}
