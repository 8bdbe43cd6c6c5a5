@echo off
rem sla scheduled for Windows Task Scheduler (sla-scheduled.xml, or schtasks /TR this file).
rem UTF-8 everywhere: console code page 65001 and Python's UTF-8 mode, so Chinese file names and
rem messages are right in the console and in reports\logs\ (one log file per run).
rem Runs from the project folder (the folder above this file) with its .venv\; set SLA to use
rem another sla.exe (conda: set SLA=sla). Arguments are passed on (e.g. --force).
rem Exit code: 0 done, 1 an export could not be loaded, 2 error, 3 another run busy,
rem 4 a report failed to render (Task Scheduler shows it as "Last Run Result" 0x4).
setlocal
chcp 65001 >nul
set PYTHONUTF8=1
set PYTHONIOENCODING=utf-8
cd /d "%~dp0.."
if not defined SLA set "SLA=.venv\Scripts\sla.exe"
"%SLA%" scheduled %*
set RC=%ERRORLEVEL%
endlocal & exit /b %RC%
