package main

import "time"

// checkDate refuses a --date that is not a day written YYYY-MM-DD, or one
// after today (UTC) at now: a load cannot be of a day that has not come.
// "" is today.
func checkDate(date string, now time.Time) error {
	if date == "" {
		return nil
	}
	d, err := time.Parse(time.DateOnly, date)
	if err != nil || d.Format(time.DateOnly) != date {
		return usagef("--date %q: want the run's logical day as YYYY-MM-DD, e.g. --date %s", date, now.UTC().AddDate(0, 0, -1).Format(time.DateOnly))
	}
	if today := now.UTC().Format(time.DateOnly); date > today {
		return usagef("--date %s is in the future (today is %s, UTC): want YYYY-MM-DD, today or earlier", date, today)
	}
	return nil
}
